//! How a store decides the commands on itself: its profile, its menu, what is
//! taken off, and whether it takes orders.

use super::Store;
use crate::{CatalogId, Menu, StoreCommand, StoreError, StoreEvent, StoreProfile, StoreStatus};

impl Store {
    /// The events of a command on the store itself.
    pub(super) fn decide_store(
        &self,
        command: &StoreCommand,
    ) -> Result<Vec<StoreEvent>, StoreError> {
        match command {
            StoreCommand::Configure(profile) => self.configure(profile),
            StoreCommand::PublishMenu(menu) => self.publish_menu(menu),
            StoreCommand::SetAvailability { id, available } => {
                self.set_availability(id, *available)
            }
            StoreCommand::SetStatus {
                accepting_orders,
                busy_minutes,
            } => self.set_status(*accepting_orders, *busy_minutes),
        }
    }

    fn existing_profile(&self) -> Result<&StoreProfile, StoreError> {
        self.profile.as_ref().ok_or(StoreError::NotFound)
    }

    fn configure(&self, profile: &StoreProfile) -> Result<Vec<StoreEvent>, StoreError> {
        profile.validate().map_err(StoreError::InvalidProfile)?;
        Ok(vec![StoreEvent::Configured(profile.clone())])
    }

    fn publish_menu(&self, menu: &Menu) -> Result<Vec<StoreEvent>, StoreError> {
        let profile = self.existing_profile()?;
        menu.validate(profile.currency)
            .map_err(StoreError::InvalidMenu)?;
        Ok(vec![StoreEvent::MenuPublished {
            menu_version: self.menu_version + 1,
            menu: menu.clone(),
        }])
    }

    fn set_availability(
        &self,
        id: &CatalogId,
        available: bool,
    ) -> Result<Vec<StoreEvent>, StoreError> {
        self.existing_profile()?;
        let menu = self.menu.as_ref().ok_or(StoreError::NoMenu)?;
        if !menu.has_item_or_option(id) {
            return Err(StoreError::UnknownCatalogId(id.clone()));
        }
        if self.unavailable.contains(id) != available {
            return Ok(Vec::new()); // Already so: nothing happens.
        }
        Ok(vec![StoreEvent::AvailabilityChanged {
            id: id.clone(),
            available,
        }])
    }

    fn set_status(
        &self,
        accepting: bool,
        busy_minutes: Option<u32>,
    ) -> Result<Vec<StoreEvent>, StoreError> {
        self.existing_profile()?;
        let extra = busy_minutes.unwrap_or(0);
        if extra > crate::MAX_BUSY_MINUTES {
            return Err(StoreError::InvalidStatus(format!(
                "busy_minutes must be 0-{}",
                crate::MAX_BUSY_MINUTES
            )));
        }
        let status = match (accepting, extra) {
            (false, _) => StoreStatus::Paused,
            (true, 0) => StoreStatus::Accepting,
            (true, extra_minutes) => StoreStatus::Busy { extra_minutes },
        };
        Ok(vec![StoreEvent::StatusChanged(status)])
    }
}
