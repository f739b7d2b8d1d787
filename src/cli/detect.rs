//! What detection reads beside the model: Sigma rules and GeoIP databases (`scan` and the
//! console).

use std::path::PathBuf;

use clap::Args;

/// Sigma rules.
#[derive(Args, Debug, Clone, Default)]
pub struct SigmaArgs {
    /// Sigma rules: a rule file or a folder searched recursively (a clone of SigmaHQ's
    /// rules/cloud/aws or of Suzaku's rules); repeatable. The config dir's sigma/ is read too.
    #[arg(long = "sigma", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Rule ids to leave out, one per line with # comments (Suzaku's ignore-list format).
    #[arg(long = "sigma-ignore", value_name = "FILE")]
    pub ignore: Vec<PathBuf>,
    /// The lowest level loaded (informational, low, medium, high, critical).
    #[arg(long = "sigma-level", default_value = "informational", value_parser = |s: &str| s.parse::<crate::sigma::Level>())]
    pub level: crate::sigma::Level,
}

impl SigmaArgs {
    /// The folders to read: those given, then the config dir's `sigma/` when it exists.
    pub fn folders(&self) -> Vec<PathBuf> {
        let own = crate::config::paths::config_dir().map(|d| d.join("sigma")).filter(|d| d.is_dir());
        self.dirs.iter().cloned().chain(own).collect()
    }
}

/// GeoIP databases.
#[derive(Args, Debug, Clone, Default)]
pub struct GeoArgs {
    /// A MaxMind-format database (.mmdb: GeoLite2 or GeoIP2 City/Country/ASN, DB-IP, IPinfo
    /// Lite, ip-location-db); repeatable, each field from the first that has it. The config
    /// dir's geoip/*.mmdb are read too. Without one, the country and travel features are absent.
    #[arg(long = "geoip", value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

impl GeoArgs {
    /// The databases to open: those given, then the config dir's `geoip/*.mmdb`.
    pub fn files(&self) -> Vec<PathBuf> {
        let own =
            crate::config::paths::config_dir().map(|d| crate::geo::files_in(&d.join("geoip"))).unwrap_or_default();
        self.files.iter().cloned().chain(own).collect()
    }

    /// The databases opened, or `None` when there are none.
    pub fn open(&self) -> anyhow::Result<Option<std::sync::Arc<crate::geo::Geo>>> {
        Ok(crate::geo::Geo::open_given(&self.files())?.map(std::sync::Arc::new))
    }
}
