//! The installed plugins as the layers above the sandbox see them: what
//! validation and run creation need ([`Catalog`]) and what the admin API
//! manages ([`PluginRegistry`]).

use crate::plugin::{Manifest, World};
use crate::run::BoxFuture;
use serde::Serialize;

/// What validation needs to know about installed plugins and connections.
pub trait Catalog {
    /// The manifest of connector `name` (of `version`, when pinned).
    fn connector(&self, name: &str, version: Option<&str>) -> Option<Manifest>;
    /// Whether connector `name` (of `version`, when pinned) is installed;
    /// checked for every run, so catalogs make it cheaper than [`Catalog::connector`].
    fn has_connector(&self, name: &str, version: Option<&str>) -> bool {
        self.connector(name, version).is_some()
    }
    /// Whether transform `name` (of `version`, when pinned) is installed.
    fn has_transform(&self, name: &str, version: Option<&str>) -> bool;
    /// The connector that connection `id` is for, if the connection exists.
    fn connection_connector(&self, id: &str) -> Option<String>;
    /// Connection `id`'s rate limit, if it has one (a connection may be read
    /// a little late: a change takes effect within a second).
    fn connection_rate_limit(&self, id: &str) -> Option<crate::model::RateLimitDef> {
        let _ = id;
        None
    }
    /// The exact version (content hash) that plugin `name` pinned to
    /// `version` means now; runs record it so they finish on the version they
    /// started with. `None` when the catalog has no versions (test fakes).
    fn resolve(&self, name: &str, version: Option<&str>) -> Option<String> {
        let _ = (name, version);
        None
    }
    /// A number that changes whenever the installed plugins change, so
    /// validated flows can be checked again.
    fn generation(&self) -> u64 {
        0
    }
}

/// The current version of one installed plugin.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub world: World,
    /// The manifest's version and the first digits of the content hash (`1.2.0+3f9a0c1b2d4e`).
    pub version: String,
    /// The content hash (BLAKE3 of the component's bytes).
    pub hash: String,
    /// A connector's manifest (transforms have none).
    pub manifest: Option<Manifest>,
}

/// One version of a plugin, as `weft plugin list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub version: String,
    pub hash: String,
    /// New runs of flows that do not pin a version take it.
    pub current: bool,
    /// Current, or provided by a file in the folder: flows can pin it. A
    /// version that is neither is kept only for the runs still on it.
    pub installed: bool,
}

/// The installed plugins, as the admin API lists, installs and removes them.
pub trait PluginRegistry: Catalog + Send + Sync + 'static {
    /// The current version of every installed plugin.
    fn installed(&self) -> Vec<PluginInfo>;
    /// How many plugins are installed (what `installed().len()` says, without the copies).
    fn installed_count(&self) -> usize {
        self.installed().len()
    }
    /// The current version of plugin `name`.
    fn plugin(&self, name: &str) -> Option<PluginInfo>;
    /// The versions of `name` the registry keeps, oldest first.
    fn versions(&self, name: &str) -> Vec<VersionInfo>;
    /// Plugin files that failed to load, and why.
    fn problems(&self) -> Vec<(String, String)>;
    /// Check and load `bytes` as a plugin and install it as current;
    /// `fallback_name` names a transform. The error says why it was refused.
    fn install<'a>(&'a self, fallback_name: &'a str, bytes: &'a [u8]) -> BoxFuture<'a, Result<PluginInfo, String>>;
    /// Stop serving plugin `name` and delete the files that provide it; whether it was installed.
    fn remove(&self, name: &str) -> std::io::Result<bool>;
}

/// A change of the plugins installed in a shared store: `hash` installed as
/// the current version of `name`, or (`hash` none) `name` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginChange {
    /// Its place in the order of changes (increasing).
    pub seq: u64,
    pub name: String,
    pub hash: Option<String>,
}

/// Where nodes sharing a store keep the plugins installed through any of
/// them: every version's bytes, and the changes of what is installed, which
/// every node follows. (A node on its own data directory keeps plugins in its
/// plugins folder instead.)
pub trait PluginStore: Send + Sync + 'static {
    /// Keep `bytes` (version `hash` of plugin `name`) and make it the current
    /// version of `name` for every node; the change's place in the order.
    fn install_plugin(&self, name: &str, hash: &str, bytes: &[u8]) -> crate::run::StoreResult<u64>;
    /// Remove plugin `name` for every node; the change's place in the order.
    fn remove_plugin(&self, name: &str) -> crate::run::StoreResult<u64>;
    /// The changes after `seq`, in order.
    fn plugin_changes(&self, after: u64) -> crate::run::StoreResult<Vec<PluginChange>>;
    /// The bytes of version `hash`, kept by any node.
    fn plugin_bytes(&self, hash: &str) -> crate::run::StoreResult<Option<Vec<u8>>>;
}
