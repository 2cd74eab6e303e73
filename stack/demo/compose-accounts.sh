#!/bin/sh
# compose.yaml's demo-accounts: the demo admin and staff, created with the
# identity CLI as an operator creates the first admin, and the customer's
# login (`loadgen demo` registers it). The passwords are made on the first
# run and kept in the demo-accounts volume (/demo/accounts.env), which
# demo-data reads; every run prints the logins.
# shellcheck disable=SC1090 # the accounts file is made here
set -eu
file=/demo/accounts.env
password() { printf 'demo-%s' "$(head -c 12 /dev/urandom | base64 | tr '+/' 'xy')"; }
if [ ! -f "$file" ]; then
  umask 077
  cat >"$file.new" <<ACCOUNTS
QSR_DEMO_ADMIN_EMAIL=admin@demo.qsr.test
QSR_DEMO_ADMIN_PASSWORD=$(password)
QSR_DEMO_STAFF_EMAIL=staff@demo.qsr.test
QSR_DEMO_STAFF_PASSWORD=$(password)
QSR_DEMO_CUSTOMER_EMAIL=customer@demo.qsr.test
QSR_DEMO_CUSTOMER_PASSWORD=$(password)
ACCOUNTS
  . "$file.new"
  printf '%s\n' "$QSR_DEMO_ADMIN_PASSWORD" |
    identity admin create --email "$QSR_DEMO_ADMIN_EMAIL" --name "Demo Admin" --password-stdin
  printf '%s\n' "$QSR_DEMO_STAFF_PASSWORD" |
    identity staff create --email "$QSR_DEMO_STAFF_EMAIL" --name "Demo Staff" \
      --stores demo-downtown --password-stdin
  chmod 644 "$file.new"
  mv "$file.new" "$file"
fi
. "$file"
cat <<LOGINS
Demo logins (POST http://localhost:8000/v1/auth/login):
  admin     $QSR_DEMO_ADMIN_EMAIL     $QSR_DEMO_ADMIN_PASSWORD
  staff     $QSR_DEMO_STAFF_EMAIL     $QSR_DEMO_STAFF_PASSWORD  (store demo-downtown)
  customer  $QSR_DEMO_CUSTOMER_EMAIL  $QSR_DEMO_CUSTOMER_PASSWORD
LOGINS
