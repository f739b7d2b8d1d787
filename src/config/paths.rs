//! Where trailtop reads its configuration and keeps its state, with the environment
//! overrides.

/// Where trailtop keeps its log, model and labels: `TRAILTOP_DATA_DIR`, else the platform's
/// data directory, else (no home directory) one per user in the temporary directory. Made
/// private with [`crate::sys::private_dir`] before use.
pub fn data_dir() -> std::path::PathBuf {
    std::env::var_os("TRAILTOP_DATA_DIR").map(Into::into).unwrap_or_else(|| {
        directories::ProjectDirs::from("", "", "trailtop").map_or_else(
            || std::env::temp_dir().join(format!("trailtop-{}", crate::sys::current_uid().unwrap_or(0))),
            |d| d.data_local_dir().to_path_buf(),
        )
    })
}

/// Where `keymap.toml` (and later other settings) live: `TRAILTOP_CONFIG_HOME`, else the
/// platform's config directory.
pub fn config_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("TRAILTOP_CONFIG_HOME")
        .map(Into::into)
        .or_else(|| directories::ProjectDirs::from("", "", "trailtop").map(|d| d.config_dir().to_path_buf()))
}
