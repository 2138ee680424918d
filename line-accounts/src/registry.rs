//! The host trait that maps channels to accounts, and its in-memory implementation.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use async_trait::async_trait;

use crate::account::{Account, BotUserId, ChannelId};
use crate::error::{Error, ErrorKind};

/// Where the accounts live: a channel ID or a bot user ID (a webhook's
/// `destination`) to the account's credentials and settings.
///
/// Implementations: [`InMemoryRegistry`], `SqliteRegistry` (feature `sqlite`),
/// `PgRegistry` (feature `postgres`). Every one passes
/// `testing::account_registry_conformance` (feature `testing`).
///
/// Rules every implementation keeps:
/// - one account per channel ID; [`put`](Self::put) replaces the account of its
///   channel, and gives the one it replaced;
/// - a bot user ID belongs to one channel: a `put` that would give a second
///   channel the same bot user ID fails with [`ErrorKind::Conflict`] and changes nothing;
/// - [`channel_ids`](Self::channel_ids) lists every channel in ascending order.
#[async_trait]
pub trait AccountRegistry: Send + Sync + std::fmt::Debug {
    /// Adds an account, or replaces the account of its channel; gives the replaced one.
    async fn put(&self, account: Account) -> Result<Option<Account>, Error>;

    /// The account of a channel.
    async fn get(&self, channel_id: &ChannelId) -> Result<Option<Account>, Error>;

    /// The account whose bot has this user ID (a webhook's `destination`).
    async fn by_bot_user_id(&self, bot_user_id: &str) -> Result<Option<Account>, Error>;

    /// Removes the account of a channel; gives it.
    async fn remove(&self, channel_id: &ChannelId) -> Result<Option<Account>, Error>;

    /// Every channel ID, in ascending order.
    async fn channel_ids(&self) -> Result<Vec<ChannelId>, Error>;
}

/// Accounts in memory (for tests, and for a registry loaded from a file at start).
#[derive(Debug, Default)]
pub struct InMemoryRegistry {
    inner: RwLock<Maps>,
}

#[derive(Debug, Default)]
struct Maps {
    accounts: BTreeMap<ChannelId, Account>,
    by_bot: HashMap<BotUserId, ChannelId>,
}

impl InMemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding these accounts (from [`load_registry_file`](crate::load_registry_file), say).
    pub fn from_accounts(accounts: impl IntoIterator<Item = Account>) -> Result<Self, Error> {
        let registry = Self::new();
        {
            let mut maps = registry.write();
            for a in accounts {
                maps.put(a)?;
            }
        }
        Ok(registry)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Maps {
    fn put(&mut self, account: Account) -> Result<Option<Account>, Error> {
        if let Some(owner) = self.by_bot.get(&account.bot_user_id) {
            if *owner != account.channel_id {
                return Err(Error::new(ErrorKind::Conflict {
                    existing_channel: owner.to_string(),
                    bot_user_id: account.bot_user_id.to_string(),
                }));
            }
        }
        let old = self.accounts.insert(account.channel_id.clone(), account.clone());
        if let Some(old) = &old {
            self.by_bot.remove(&old.bot_user_id);
        }
        self.by_bot.insert(account.bot_user_id.clone(), account.channel_id);
        Ok(old)
    }
}

#[async_trait]
impl AccountRegistry for InMemoryRegistry {
    async fn put(&self, account: Account) -> Result<Option<Account>, Error> {
        self.write().put(account)
    }

    async fn get(&self, channel_id: &ChannelId) -> Result<Option<Account>, Error> {
        Ok(self.read().accounts.get(channel_id).cloned())
    }

    async fn by_bot_user_id(&self, bot_user_id: &str) -> Result<Option<Account>, Error> {
        let maps = self.read();
        let Ok(bot) = BotUserId::new(bot_user_id) else {
            return Ok(None);
        };
        Ok(maps.by_bot.get(&bot).and_then(|c| maps.accounts.get(c)).cloned())
    }

    async fn remove(&self, channel_id: &ChannelId) -> Result<Option<Account>, Error> {
        let mut maps = self.write();
        let old = maps.accounts.remove(channel_id);
        if let Some(old) = &old {
            maps.by_bot.remove(&old.bot_user_id);
        }
        Ok(old)
    }

    async fn channel_ids(&self) -> Result<Vec<ChannelId>, Error> {
        Ok(self.read().accounts.keys().cloned().collect())
    }
}
