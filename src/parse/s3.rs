//! What S3 records say of the data they moved: bytes out and the bucket.

use serde::Deserialize;

use super::lenient::{Object, Text, boxed_opt};

/// What S3 says of a call's data: `additionalEventData.bytesTransferredOut`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WireS3Data<'a> {
    #[serde(borrow, rename = "bytesTransferredOut")]
    bytes_out: Text<'a>,
}

/// The bucket an S3 call is about: `requestParameters.bucketName`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WireS3Params<'a> {
    #[serde(borrow, rename = "bucketName")]
    bucket: Text<'a>,
}

/// A byte count as S3 writes it (`375`), or as re-exports do (`"375"`, `375.0`); anything
/// negative, fractional or not a number counts as none.
fn whole_bytes(t: &Text) -> u64 {
    let Some(s) = t.as_str() else { return 0 };
    s.parse::<u64>()
        .ok()
        .or_else(|| {
            let f = s.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)?;
            Some(f.min(u64::MAX as f64) as u64)
        })
        .unwrap_or(0)
}

/// For an S3 record: `additionalEventData.bytesTransferredOut` (0 when absent) and
/// `requestParameters.bucketName`. Other services' records are not parsed for them.
pub(super) fn transfer(source: Option<&str>, data: &Object, params: &Object) -> (u64, Option<Box<str>>) {
    if source != Some("s3.amazonaws.com") {
        return (0, None);
    }
    let data: WireS3Data = data.parse();
    let params: WireS3Params = params.parse();
    (whole_bytes(&data.bytes_out), boxed_opt(&params.bucket))
}
