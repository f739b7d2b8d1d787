//! An S3 server for the benchmark: s3s (the S3 protocol, SigV4 checks, XML) over objects held
//! in memory. The s3s-fs server the tests use re-walks the whole bucket on every listing and
//! reads each object in 4 KiB blocking chunks; sharing this machine's two cores with the
//! client under test, that measured the server rather than trailtop. Only what the S3 source
//! calls is here: ListObjectsV2 (prefix, delimiter, start-after, continuation, max-keys) and
//! GetObject.

use std::collections::BTreeMap;
use std::path::Path;

use hyper::body::Bytes;
use s3s::dto::{
    CommonPrefix, ETag, GetObjectInput, GetObjectOutput, ListObjectsV2Input, ListObjectsV2Output, Object, StreamingBlob,
};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

pub struct MemS3 {
    bucket: String,
    objects: BTreeMap<String, Bytes>,
    /// Added before every answer: S3's time to first byte, as seen from a nearby client.
    latency: std::time::Duration,
}

impl MemS3 {
    /// Every file under `root` as an object of `bucket`, keyed by its path below `root`.
    pub fn from_dir(bucket: &str, root: &Path) -> Self {
        let objects = walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let key = e.path().strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                (key, Bytes::from(std::fs::read(e.path()).unwrap()))
            })
            .collect();
        Self { bucket: bucket.to_owned(), objects, latency: std::time::Duration::ZERO }
    }

    pub fn with_latency(self, latency: std::time::Duration) -> Self {
        Self { latency, ..self }
    }

    /// Waits out the latency, then answers only for the one bucket.
    async fn answer(&self, bucket: &str) -> S3Result<()> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if bucket != self.bucket {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl S3 for MemS3 {
    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let i = req.input;
        self.answer(&i.bucket).await?;
        let Some(body) = self.objects.get(&i.key) else { return Err(s3_error!(NoSuchKey)) };
        Ok(S3Response::new(GetObjectOutput {
            content_length: Some(body.len() as i64),
            e_tag: Some(ETag::Strong(format!("{:x}", body.len()))),
            body: Some(StreamingBlob::from(s3s::Body::from(body.clone()))),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let i = req.input;
        self.answer(&i.bucket).await?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let after = i.continuation_token.clone().into_iter().chain(i.start_after.clone()).max().unwrap_or_default();
        let max = usize::try_from(i.max_keys.unwrap_or(1000)).unwrap_or(1000);
        let (mut contents, mut prefixes, mut last, mut truncated) = (Vec::new(), Vec::<String>::new(), None, false);
        for (key, body) in self.objects.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
            // A key inside a common prefix stands for that prefix.
            let entry = match i.delimiter.as_deref().and_then(|d| key[prefix.len()..].find(d).map(|p| (d, p))) {
                Some((d, p)) => key[..prefix.len() + p + d.len()].to_owned(),
                None => key.clone(),
            };
            if entry.as_str() <= after.as_str() || prefixes.last() == Some(&entry) {
                continue;
            }
            if contents.len() + prefixes.len() == max {
                truncated = true;
                break;
            }
            last = Some(entry.clone());
            if entry == *key {
                contents.push(Object { key: Some(key.clone()), size: Some(body.len() as i64), ..Default::default() });
            } else {
                prefixes.push(entry);
            }
        }
        Ok(S3Response::new(ListObjectsV2Output {
            key_count: Some((contents.len() + prefixes.len()) as i32),
            max_keys: i.max_keys,
            is_truncated: Some(truncated),
            next_continuation_token: if truncated { last } else { None },
            contents: (!contents.is_empty()).then_some(contents),
            common_prefixes: (!prefixes.is_empty())
                .then(|| prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(p) }).collect()),
            continuation_token: i.continuation_token,
            delimiter: i.delimiter,
            name: Some(i.bucket),
            prefix: i.prefix,
            start_after: i.start_after,
            ..Default::default()
        }))
    }
}
