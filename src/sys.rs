//! Process facts for `--stats` and the benchmarks.

/// Peak resident set size of this process in KiB (Linux `VmHWM`), 0 where unknown.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Resident set size of this process now, in KiB (Linux `VmRSS`), 0 where unknown.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Writes `path` so that a reader sees the old content or the new, never a mix, and the new
/// survives a crash once this returns: a temporary file of a name no other writer (process
/// or thread) uses, synced, renamed over `path`, and the directory synced so the rename is.
pub fn write_atomic(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};

    use anyhow::Context;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let file = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        let mut w = std::io::BufWriter::new(file);
        write(&mut w).with_context(|| format!("cannot write {}", tmp.display()))?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all().with_context(|| format!("cannot sync {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
        // The rename is only durable once the directory entry is.
        std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync {}", dir.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Takes the data directory's lock (`trailtop.lock`, an advisory lock the system drops when
/// the process ends). `Some` while this process holds it; `None` when another instance does,
/// and this one must not write there.
pub fn lock_data_dir(dir: &std::path::Path) -> Option<std::fs::File> {
    let file =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("trailtop.lock")).ok()?;
    match file.try_lock() {
        Ok(()) => Some(file),
        Err(_) => None,
    }
}

/// This process's effective user: the owner of `/proc/self`. `None` where there is no `/proc`.
pub fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Makes `dir` (and missing parents) readable by this user only, and refuses one that another
/// user owns or that is a symbolic link: in a shared place such as `/tmp` someone else could
/// have planted it to read the analyst's labels or swap their checkpoints.
pub fn private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};

    use anyhow::{Context, bail};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let meta = std::fs::symlink_metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if meta.file_type().is_symlink() {
        bail!("the data directory {} is a symbolic link: refusing it (set TRAILTOP_DATA_DIR)", dir.display());
    }
    if let Some(me) = current_uid()
        && meta.uid() != me
    {
        bail!(
            "the data directory {} belongs to user {}, not to you ({me}): refusing it (set TRAILTOP_DATA_DIR)",
            dir.display(),
            meta.uid()
        );
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_atomic;

    /// A second instance on one data dir finds the lock taken, and gets it once the first
    /// is gone.
    #[test]
    fn the_data_dir_lock_admits_one_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = super::lock_data_dir(dir.path()).expect("free");
        assert!(super::lock_data_dir(dir.path()).is_none(), "held by the first");
        drop(first);
        assert!(super::lock_data_dir(dir.path()).is_some());
    }

    #[test]
    fn data_dirs_are_private_and_planted_links_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/trailtop");
        super::private_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        // An existing one that others can read is made private.
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        super::private_dir(&open).unwrap();
        assert_eq!(std::fs::metadata(&open).unwrap().permissions().mode() & 0o777, 0o700);
        let link = tmp.path().join("planted");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let err = super::private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        // Owned by someone else: root's own directory, or (when the tests run as root) one
        // given to `nobody`.
        let (theirs, owner) = if super::current_uid().is_some_and(|uid| uid != 0) {
            (std::path::PathBuf::from("/"), 0)
        } else {
            let d = tmp.path().join("nobody");
            std::fs::create_dir(&d).unwrap();
            std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
            (d, 65534)
        };
        let err = super::private_dir(&theirs).unwrap_err().to_string();
        assert!(err.contains(&format!("belongs to user {owner},")), "{err}");
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, |w| w.write_all(b"one")).unwrap();
        write_atomic(&path, |w| w.write_all(b"two")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // A writer that fails leaves the old content and no stray file.
        let failed = write_atomic(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("state.json")]);
        // Writers in parallel never share a temporary name: each result is one whole write.
        std::thread::scope(|s| {
            for i in 0..8 {
                let path = &path;
                s.spawn(move || {
                    let body = format!("writer {i} ").repeat(10_000);
                    write_atomic(path, |w| w.write_all(body.as_bytes())).unwrap();
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.split(' ').next().unwrap().to_owned() + " " + text.split(' ').nth(1).unwrap() + " ";
        assert_eq!(text, first.repeat(10_000));
    }
}
