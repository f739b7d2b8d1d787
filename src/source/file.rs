//! Reading one CloudTrail file: gzip or plain, with a cap on the decompressed size.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::budget::{INFLATE, Lease};
use crate::parse::{Event, ParseOptions, ParseStats, parse_document};

/// A gzip file may not inflate beyond this: a bomb is an error for that file, not an outage.
pub const MAX_DECOMPRESSED: u64 = crate::parse::DEFAULT_MAX_FILE_BYTES;

/// True for files trailtop should read. Temporary names (`aws s3 sync` writes to a suffixed
/// name and renames) and hidden files are ignored until they get their final name.
pub fn is_candidate(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') {
        return false;
    }
    [".json", ".json.gz", ".gz", ".jsonl", ".ndjson", ".log"].iter().any(|ext| name.ends_with(ext))
}

/// CloudTrail's digest files sit beside the logs (`CloudTrail-Digest/` folders and file names);
/// they hold hashes, not events.
pub fn is_digest(path: &Path) -> bool {
    path.to_string_lossy().contains("CloudTrail-Digest")
}

/// What one file gave.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// The events read.
    pub events: Vec<Event>,
    /// What parsing met.
    pub stats: ParseStats,
    /// An I/O or decompression problem; any events decoded before it are still in `events`.
    pub error: Option<String>,
}

/// Reads, decompresses and parses one file. Never panics on content; problems are reported in
/// the outcome and whatever could be decoded is kept.
pub fn load_file(path: &Path, opts: &ParseOptions) -> FileOutcome {
    let mut out = FileOutcome::default();
    if is_digest(path) {
        out.stats.digests += 1;
        return out;
    }
    // Held until the bytes are parsed and dropped: they count against the shared budget.
    let mut lease = INFLATE.lease();
    let (bytes, error) = read_leased(path, opts.max_file_bytes, &mut lease);
    if matches!(error, Some(DecodeError::TooLarge { .. })) {
        out.stats.oversized += 1;
    }
    out.error = error.map(|e| format!("{}: {e}", path.display()));
    parse_document(&bytes, opts, &mut out.events, &mut out.stats);
    if let Some(e) = &out.error {
        out.stats.last_error = Some(e.clone());
    }
    out
}

/// The decompressed bytes of a file plus the error that stopped reading, if any. A truncated
/// gzip yields what inflated before the cut.
pub fn read_bytes(path: &Path, max: u64) -> (Vec<u8>, Option<DecodeError>) {
    read_leased(path, max, &mut INFLATE.lease())
}

fn read_leased(path: &Path, max: u64, lease: &mut Lease) -> (Vec<u8>, Option<DecodeError>) {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return (Vec::new(), Some(DecodeError::Io(format!("cannot open: {e}")))),
    };
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic);
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let chained = head.chain(file);
    let gz = n == 2 && magic == [0x1f, 0x8b];
    // Sized up front: growing a multi-megabyte buffer by doubling copies it several times.
    let on_disk = std::fs::metadata(path).map_or(0, |m| m.len());
    let guess = if gz { on_disk.saturating_mul(8) } else { on_disk + 1 };
    let guess = guess.clamp(1, max.max(1));
    lease.hold(guess);
    let mut buf = Vec::with_capacity(guess as usize);
    let result = if gz {
        read_capped(&mut MultiGzDecoder::new(chained), &mut buf, max, lease)
    } else {
        read_capped(&mut { chained }, &mut buf, max, lease)
    };
    match result {
        Ok(true) => (Vec::new(), Some(DecodeError::TooLarge { max, inflated: gz })),
        Ok(false) => (buf, None),
        Err(e) if gz => (buf, Some(DecodeError::Damaged(e.to_string()))),
        Err(e) => (buf, Some(DecodeError::Io(e.to_string()))),
    }
}

/// Why a file or object was not read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Over the cap (`max` bytes; `inflated`: once decompressed): skipped, counted as
    /// oversized.
    TooLarge {
        /// The cap, bytes.
        max: u64,
        /// Whether the cap was passed while inflating.
        inflated: bool,
    },
    /// A damaged gzip stream: what inflated before the damage is kept.
    Damaged(String),
    /// The file could not be opened or read.
    Io(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::TooLarge { max, inflated: true } => {
                write!(f, "larger than {} MiB once decompressed; skipped", max >> 20)
            }
            DecodeError::TooLarge { max, inflated: false } => write!(f, "larger than {} MiB; skipped", max >> 20),
            DecodeError::Damaged(e) => write!(f, "gzip stream damaged ({e}); kept what was readable"),
            DecodeError::Io(e) => f.write_str(e),
        }
    }
}

/// Reads `r` to its end into `buf`, never holding more than `max` bytes: the buffer grows by
/// doubling up to `max` and no further (reading a bomb to `max + 1` grew it to twice the cap),
/// and each growth is leased from the shared budget first. `Ok(true)` when there was more
/// than `max`.
fn read_capped(r: &mut impl Read, buf: &mut Vec<u8>, max: u64, lease: &mut Lease) -> std::io::Result<bool> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    loop {
        if buf.len() == buf.capacity() {
            if buf.len() >= max {
                // Full to the cap: one more byte means the file is over it.
                let mut probe = [0u8; 1];
                return loop {
                    match r.read(&mut probe) {
                        Ok(n) => break Ok(n > 0),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
            }
            let more = buf.len().max(64 << 10).min(max - buf.len());
            lease.hold((buf.capacity() + more) as u64);
            buf.reserve_exact(more);
        }
        let room = buf.capacity() - buf.len();
        // Limited to the spare capacity, `read_to_end` fills the buffer without growing it.
        let n = r.by_ref().take(room as u64).read_to_end(buf)?;
        if n < room {
            return Ok(false);
        }
    }
}

/// Past this, a thread's inflate buffer is not kept for the next object.
const KEEP_SCRATCH: usize = 16 << 20;

thread_local! {
    /// One inflate buffer per thread, reused object after object: a fresh one for each small
    /// object came from new pages, and zeroing them (2 MiB at a time with transparent huge
    /// pages) was a measured tenth of the S3 source's CPU beyond parsing.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` on `raw` inflated when it is gzip (by content), with the same cap and damage
/// handling as files, and on `raw` itself otherwise; `f` also gets the error, if any.
pub fn with_decoded<R>(raw: &[u8], max: u64, f: impl FnOnce(&[u8], Option<DecodeError>) -> R) -> R {
    if raw.len() >= 2 && raw[..2] == [0x1f, 0x8b] {
        let mut buf = SCRATCH.take();
        buf.clear();
        let mut lease = INFLATE.lease();
        let guess = (raw.len() * 8).min(max as usize);
        lease.hold(buf.capacity().max(guess) as u64);
        buf.reserve(guess);
        // Inflated straight from the slice: the `read` decoder would copy it through a buffer first.
        let result = read_capped(&mut flate2::bufread::MultiGzDecoder::new(raw), &mut buf, max, &mut lease);
        let out = match result {
            Ok(true) => f(&[], Some(DecodeError::TooLarge { max, inflated: true })),
            Ok(false) => f(&buf, None),
            Err(e) => f(&buf, Some(DecodeError::Damaged(e.to_string()))),
        };
        if buf.capacity() <= KEEP_SCRATCH {
            SCRATCH.set(buf);
        }
        out
    } else if raw.len() as u64 > max {
        f(&[], Some(DecodeError::TooLarge { max, inflated: false }))
    } else {
        f(raw, None)
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn record(id: usize) -> String {
        format!(
            r#"{{"eventTime":"2024-03-01T10:00:00Z","eventName":"E{id}","eventID":"id{id}","userIdentity":{{"arn":"arn:aws:iam::1:user/u"}}}}"#
        )
    }

    /// `n` records as CloudTrail writes them to S3.
    fn records(n: usize) -> String {
        format!(r#"{{"Records":[{}]}}"#, (0..n).map(record).collect::<Vec<_>>().join(","))
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn truncated_gzip_keeps_the_readable_records() {
        let doc = records(2000);
        let packed = gz(doc.as_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json.gz");
        std::fs::write(&path, &packed[..packed.len() / 2]).unwrap();
        let out = load_file(&path, &ParseOptions::default());
        assert!(out.error.as_deref().unwrap().contains("gzip stream damaged"));
        assert!(out.events.len() > 100 && out.events.len() < 2000, "{}", out.events.len());
        assert_eq!(out.stats.truncated, 1);
    }

    #[test]
    fn bytes_decode_as_files_do() {
        let doc = records(2000);
        let packed = gz(doc.as_bytes());
        let decode_bytes = |raw: &[u8], max| with_decoded(raw, max, |b, e| (b.to_vec(), e.map(|e| e.to_string())));
        assert_eq!(decode_bytes(&packed, MAX_DECOMPRESSED), (doc.as_bytes().to_vec(), None));
        // The thread's buffer, reused for a smaller object, holds only that object.
        let small = records(3);
        assert_eq!(decode_bytes(&gz(small.as_bytes()), MAX_DECOMPRESSED), (small.as_bytes().to_vec(), None));
        assert_eq!(decode_bytes(doc.as_bytes(), MAX_DECOMPRESSED), (doc.as_bytes().to_vec(), None));
        let (cut, err) = decode_bytes(&packed[..packed.len() / 2], MAX_DECOMPRESSED);
        assert!(err.unwrap().contains("gzip stream damaged"));
        assert!(!cut.is_empty() && doc.as_bytes().starts_with(&cut), "{}", cut.len());
        let (bomb, err) = decode_bytes(&gz(&vec![b' '; 4 << 20]), 1 << 20);
        assert!(bomb.is_empty() && err.unwrap().contains("larger than 1 MiB"));
    }

    /// What is being inflated counts against the budget shared by every decoder until it has
    /// been parsed, and is returned after.
    #[test]
    fn decoded_bytes_are_leased_from_the_shared_budget() {
        let packed = gz(records(20_000).as_bytes());
        with_decoded(&packed, MAX_DECOMPRESSED, |bytes, _| {
            assert!(bytes.len() > 1 << 20);
            assert!(INFLATE.in_use() >= bytes.len() as u64, "{} leased for {}", INFLATE.in_use(), bytes.len());
        });
        assert!(INFLATE.peak() >= 1 << 20);
    }

    #[test]
    fn gzip_bomb_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.json.gz");
        std::fs::write(&path, gz(&vec![b' '; 4 << 20])).unwrap();
        let (bytes, err) = read_bytes(&path, 1 << 20);
        let err = err.map(|e| e.to_string());
        assert!(bytes.is_empty());
        assert!(err.unwrap().contains("larger than 1 MiB"));
        // The refusal is counted, as every skip is (it was counted nowhere).
        let out = load_file(&path, &ParseOptions { max_file_bytes: 1 << 20, ..Default::default() });
        assert_eq!((out.stats.oversized, out.stats.skipped()), (1, 1));
        assert!(out.error.is_some_and(|e| e.contains("bomb.json.gz") && e.contains("larger than 1 MiB")));
    }

    /// Reading a bomb to the cap plus one doubled the buffer past the cap (1.66 GiB of memory
    /// to refuse a file at 1 GiB); the buffer now stops at the cap.
    #[test]
    fn reading_never_holds_more_than_the_cap() {
        let mut buf = Vec::with_capacity(1000);
        let over =
            read_capped(&mut std::io::repeat(b' ').take(4 << 20), &mut buf, 1 << 20, &mut INFLATE.lease()).unwrap();
        assert!(over);
        assert!(buf.capacity() <= 1 << 20, "{}", buf.capacity());
        for size in [0, 1, 999, 1000, 1001, (1 << 20) - 1, 1 << 20] {
            let mut buf = Vec::with_capacity(1000);
            let over =
                read_capped(&mut std::io::repeat(b'x').take(size), &mut buf, 1 << 20, &mut INFLATE.lease()).unwrap();
            assert!(!over, "{size}");
            assert_eq!(buf.len() as u64, size);
            assert!(buf.capacity() <= 1 << 20);
        }
    }

    #[test]
    fn names() {
        assert!(is_candidate(Path::new("a/1_CloudTrail_us-east-1_20240301T1000Z_x.json.gz")));
        assert!(!is_candidate(Path::new("a/x.json.gz.5fA3b1")));
        assert!(!is_candidate(Path::new("a/.x.json")));
        assert!(is_digest(Path::new("AWSLogs/1/CloudTrail-Digest/us-east-1/x.json.gz")));
    }
}
