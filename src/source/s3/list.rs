//! Listing a CloudTrail bucket: the region folders under a prefix (organisation trails
//! included), the day folders in a time range, and a day folder's keys after a checkpoint.

use aws_sdk_s3::Client;

use crate::source::aws::{describe, persist};

/// Folders listed side by side: an organisation's account folders, and the day folders
/// listed ahead of the downloads.
pub(super) const LIST_AHEAD: usize = 8;

/// A day folder's keys after its checkpoint with their sizes, page by page, and the error
/// that cut the listing short.
pub(super) struct Listing {
    pub pages: Vec<Vec<(String, u64)>>,
    pub error: Option<String>,
}

/// Pages one listing follows at most (a day folder of one region holds a few thousand keys
/// at most; this is ten million), so a server that hands out tokens for ever cannot hold the
/// source.
const MAX_LIST_PAGES: usize = 10_000;

/// The continuation token to follow, or why not: a token seen before (a loop) or past the
/// page cap is an error for this listing.
fn next_token(
    page_token: Option<&str>,
    truncated: bool,
    seen: &mut std::collections::HashSet<String>,
    what: &str,
) -> Result<Option<String>, String> {
    let Some(t) = page_token.filter(|_| truncated) else { return Ok(None) };
    if seen.len() >= MAX_LIST_PAGES {
        return Err(format!("listing {what}: stopped after {MAX_LIST_PAGES} pages"));
    }
    if !seen.insert(t.to_owned()) {
        return Err(format!("listing {what}: the server returned a continuation token it had returned before"));
    }
    Ok(Some(t.to_owned()))
}

pub(super) async fn list_folder(client: Client, bucket: String, folder: String, after: Option<String>) -> Listing {
    let mut listing = Listing { pages: Vec::new(), error: None };
    let mut token = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let mut req = client.list_objects_v2().bucket(&bucket).prefix(&folder).set_continuation_token(token.clone());
        if token.is_none()
            && let Some(after) = &after
        {
            req = req.start_after(after);
        }
        let page = match req.send().await {
            Ok(p) => p,
            Err(e) => {
                listing.error = Some(format!("listing s3://{bucket}/{folder}: {}", describe(&e, "s3:ListBucket")));
                return listing;
            }
        };
        listing.pages.push(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(|k| (k.to_owned(), o.size().map_or(0, |n| n.max(0) as u64))))
                .collect(),
        );
        let what = format!("s3://{bucket}/{folder}");
        match next_token(page.next_continuation_token(), page.is_truncated() == Some(true), &mut seen, &what) {
            Ok(Some(t)) => token = Some(t),
            Ok(None) => return listing,
            Err(e) => {
                listing.error = Some(e);
                return listing;
            }
        }
    }
}

/// The `.../CloudTrail/REGION/` and `.../CloudTrail-Insight/REGION/` folders under `prefix`,
/// found by listing with a delimiter, level by level (never the whole bucket).
pub(super) async fn find_roots(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    if let Some((root, _)) = below_region(prefix) {
        return Ok(vec![root.to_owned()]);
    }
    let mut roots = Vec::new();
    let mut frontier = vec![prefix.to_owned()];
    for _depth in 0..8 {
        let (found, deeper): (Vec<String>, Vec<String>) = frontier.into_iter().partition(|p| {
            let segs: Vec<&str> = p.trim_end_matches('/').split('/').collect();
            segs.len() >= 2 && is_trail_folder(segs[segs.len() - 2])
        });
        // A region folder given without its slash (`s3://b/.../us-east-1`) is that folder.
        roots.extend(found.into_iter().map(|p| if p.ends_with('/') { p } else { p + "/" }));
        // An organisation trail has a folder per account: a level's folders are listed side
        // by side, LIST_AHEAD at a time.
        let mut next = Vec::new();
        for chunk in deeper.chunks(LIST_AHEAD) {
            let tasks: Vec<_> =
                chunk.iter().map(|p| tokio::spawn(subfolders(client.clone(), bucket.to_owned(), p.clone()))).collect();
            for task in tasks {
                next.extend(task.await.map_err(|e| format!("listing s3://{bucket}/: task failed: {e}"))??);
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    roots.sort();
    Ok(roots)
}

/// The folders directly under `prefix`, digest folders left out.
async fn subfolders(client: Client, bucket: String, prefix: String) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut token = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let page = persist(|| {
            client
                .list_objects_v2()
                .bucket(&bucket)
                .prefix(&prefix)
                .delimiter("/")
                .set_continuation_token(token.clone())
                .send()
        })
        .await
        .map_err(|e| format!("listing s3://{bucket}/{prefix}: {}", describe(&e, "s3:ListBucket")))?;
        out.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|cp| cp.prefix())
                .filter(|child| !child.contains("CloudTrail-Digest"))
                .map(str::to_owned),
        );
        let what = format!("s3://{bucket}/{prefix}");
        match next_token(page.next_continuation_token(), page.is_truncated() == Some(true), &mut seen, &what)? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// The folder names above a trail's region folders.
fn is_trail_folder(name: &str) -> bool {
    matches!(name, "CloudTrail" | "CloudTrail-Insight")
}

/// A prefix that reaches below a region folder (`.../CloudTrail/us-east-1/2024/05/`) split
/// into that folder and the rest (`2024/05/`).
fn below_region(prefix: &str) -> Option<(&str, &str)> {
    let segs: Vec<&str> = prefix.split('/').collect();
    let at = segs.iter().position(|s| is_trail_folder(s))?;
    // The region segment and its slash must be there, and something after them.
    if segs.len() <= at + 2 {
        return None;
    }
    let root_len = segs[..at + 2].iter().map(|s| s.len() + 1).sum::<usize>();
    (root_len < prefix.len()).then(|| prefix.split_at(root_len))
}

/// The UTC span, `[from, to)`, of the year, month or day a prefix below a region folder names
/// (`2024/`, `2024/05`, `2024/05/01/`); `None` for any other prefix.
pub(super) fn named_span(prefix: &str) -> Option<(i64, i64)> {
    use chrono::{Months, NaiveDate};
    let (_, rest) = below_region(prefix)?;
    // Whole segments only: `2024/03/0` names March (and the folder filter narrows it).
    let parts: Vec<u32> =
        rest.split('/').zip([4, 2, 2]).map_while(|(p, width)| (p.len() == width).then(|| p.parse().ok())?).collect();
    let (y, m, d) = match parts[..] {
        [y] => (y, None, None),
        [y, m] => (y, Some(m), None),
        [y, m, d, ..] => (y, Some(m), Some(d)),
        [] => return None,
    };
    let start = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m.unwrap_or(1), d.unwrap_or(1))?;
    let end = match (m, d) {
        (_, Some(_)) => start.succ_opt()?,
        (Some(_), None) => start.checked_add_months(Months::new(1))?,
        (None, None) => start.checked_add_months(Months::new(12))?,
    };
    let secs = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    Some((secs(start)?, secs(end)?))
}

/// Up to this many days, a range's day folders are named from the calendar (polls cover two
/// days); a longer one is found by listing the year, month and day folders that exist, so a
/// back-fill of three years over a bucket of two days costs a few listings per region, not
/// 1,100 (`--since 1100d` made 18,700 calls).
const CALENDAR_DAYS: usize = 4;

/// The day folders under `roots` from `from` to `to` that lie under `prefix`, root by root:
/// named from the calendar for a short range, found by listing for a long one.
pub(super) async fn existing_folders(
    client: &Client,
    bucket: &str,
    roots: &[String],
    prefix: &str,
    from: i64,
    to: i64,
) -> Result<Vec<String>, String> {
    if day_folders(from, to).len() <= CALENDAR_DAYS {
        return Ok(folders(roots, prefix, from, to));
    }
    let (Some(first), Some(last)) = (day_of(from), day_of(to)) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for chunk in roots.chunks(LIST_AHEAD) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|root| tokio::spawn(days_under(client.clone(), bucket.to_owned(), root.clone(), first, last)))
            .collect();
        for task in tasks {
            out.extend(task.await.map_err(|e| format!("listing s3://{bucket}/: task failed: {e}"))??);
        }
    }
    out.retain(|f| f.starts_with(prefix));
    Ok(out)
}

fn day_of(t: i64) -> Option<chrono::NaiveDate> {
    chrono::DateTime::from_timestamp(t, 0).map(|d| d.date_naive())
}

/// The `YYYY/MM/DD/` folders under `root` from `first` to `last`, in order: years, then the
/// months of the years in range, then the days of the months in range.
async fn days_under(
    client: Client,
    bucket: String,
    root: String,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
) -> Result<Vec<String>, String> {
    use chrono::Datelike;
    // The number a folder `root/.../NN/` names, if its last segment is one.
    let number = |folder: &str| folder.trim_end_matches('/').rsplit('/').next().and_then(|n| n.parse::<u32>().ok());
    let key = |d: chrono::NaiveDate| (d.year() as u32, d.month(), d.day());
    let (lo, hi) = (key(first), key(last));
    let mut days = Vec::new();
    for year in subfolders(client.clone(), bucket.clone(), root).await? {
        let Some(y) = number(&year).filter(|y| (lo.0..=hi.0).contains(y)) else { continue };
        for month in subfolders(client.clone(), bucket.clone(), year).await? {
            let Some(m) = number(&month).filter(|m| ((lo.0, lo.1)..=(hi.0, hi.1)).contains(&(y, *m))) else { continue };
            for day in subfolders(client.clone(), bucket.clone(), month).await? {
                if number(&day).is_some_and(|d| (lo..=hi).contains(&(y, m, d))) {
                    days.push(day);
                }
            }
        }
    }
    days.sort();
    Ok(days)
}

/// Every root's day folder for every UTC day from `from` to `to`, root by root, that lies
/// under `prefix` (which may name a year, month or day below the roots).
pub(super) fn folders(roots: &[String], prefix: &str, from: i64, to: i64) -> Vec<String> {
    let days = day_folders(from, to);
    roots
        .iter()
        .flat_map(|root| days.iter().map(move |day| format!("{root}{day}")))
        .filter(|f| f.starts_with(prefix))
        .collect()
}

/// `YYYY/MM/DD/` for every UTC day from `from` to `to`.
pub fn day_folders(from: i64, to: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut day = from.div_euclid(86_400);
    while day <= to.div_euclid(86_400) {
        if let Some(t) = chrono::DateTime::from_timestamp(day * 86_400, 0) {
            out.push(t.format("%Y/%m/%d/").to_string());
        }
        day += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::s3::parse_url;

    #[test]
    fn urls_and_days() {
        assert_eq!(parse_url("s3://b/AWSLogs/"), Some(("b".into(), "AWSLogs/".into())));
        assert_eq!(parse_url("s3://b"), Some(("b".into(), String::new())));
        assert_eq!(parse_url("s3:///x"), None);
        assert_eq!(day_folders(1_709_510_400 - 10, 1_709_510_400 + 10), ["2024/03/03/", "2024/03/04/"]);
    }

    #[test]
    fn continuation_tokens_are_followed_once_and_not_for_ever() {
        let mut seen = std::collections::HashSet::new();
        assert_eq!(next_token(Some("a"), true, &mut seen, "x"), Ok(Some("a".into())));
        assert_eq!(next_token(Some("b"), false, &mut seen, "x"), Ok(None), "not truncated: done");
        assert_eq!(next_token(None, true, &mut seen, "x"), Ok(None));
        assert!(next_token(Some("a"), true, &mut seen, "x").unwrap_err().contains("returned before"));
        let mut many: std::collections::HashSet<String> = (0..MAX_LIST_PAGES).map(|i| i.to_string()).collect();
        assert!(next_token(Some("new"), true, &mut many, "x").unwrap_err().contains("stopped after"));
    }

    #[test]
    fn a_prefix_may_name_a_year_month_or_day_below_a_region() {
        let root = "AWSLogs/1/CloudTrail/us-east-1/";
        assert_eq!(below_region(&format!("{root}2024/03/")), Some((root, "2024/03/")));
        assert_eq!(below_region(root), None);
        assert_eq!(below_region("AWSLogs/1/CloudTrail/us-east-1"), None);
        assert_eq!(below_region("AWSLogs/1/CloudTrail/"), None);
        assert_eq!(below_region("AWSLogs/"), None);
        let day = 1_709_424_000; // 2024-03-03
        assert_eq!(named_span(&format!("{root}2024/03/03/")), Some((day, day + 86_400)));
        assert_eq!(named_span(&format!("{root}2024/03/0")), Some((1_709_251_200, 1_711_929_600)), "March");
        assert_eq!(named_span(&format!("{root}2024")), Some((1_704_067_200, 1_735_689_600)));
        assert_eq!(named_span(&format!("{root}2024/13/")), None);
        assert_eq!(named_span(root), None);
        let roots = [root.to_owned(), "AWSLogs/1/CloudTrail/eu-west-1/".to_owned()];
        let pinned = format!("{root}2024/03/0");
        assert_eq!(
            folders(&roots, &pinned, day - 86_400, day + 20 * 86_400),
            (2..=9).map(|d| format!("{root}2024/03/0{d}/")).collect::<Vec<_>>()
        );
        assert_eq!(folders(&roots, "AWSLogs/", day, day).len(), 2);
    }
}
