-- compose.yaml: the identity service's own database beside the read models'
-- (personal data lives only there). Run by the postgres image on first start.
create database qsr_identity;
