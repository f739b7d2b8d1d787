use super::*;

fn rec(id: &str, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIA1","userName":"alice"}},"eventTime":"2024-03-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15","requestParameters":null,"responseElements":null,"eventID":"{id}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}"#
    )
}

fn parse(s: &str) -> (Vec<Event>, ParseStats) {
    parse_bytes(s.as_bytes(), &ParseOptions::default())
}

#[test]
fn records_wrapper() {
    let (ev, st) = parse(&format!(r#"{{"Records":[{},{}]}}"#, rec("a", "ListBuckets"), rec("b", "GetObject")));
    assert_eq!(ev.len(), 2);
    assert_eq!(st.skipped(), 0);
    let e = &ev[0];
    assert_eq!(&*e.id, "a");
    assert_eq!(&*e.principal, "arn:aws:iam::111122223333:user/alice");
    assert_eq!(e.time, 1_709_287_200);
    assert_eq!(e.read_only, Some(true));
    assert_eq!(e.access_key.as_deref(), Some("AKIA1"));
    assert_eq!(e.service(), "s3");
}

#[test]
fn truncated_wrapper_keeps_complete_records() {
    let doc = format!(r#"{{"Records":[{},{},{}]}}"#, rec("a", "A"), rec("b", "B"), rec("c", "C"));
    let cut = &doc[..doc.len() - 60];
    let (ev, st) = parse(cut);
    assert_eq!(ev.iter().map(|e| &*e.id).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(st.truncated, 1);
    assert!(st.last_error.unwrap().contains("truncated"));
}

#[test]
fn ndjson_with_a_broken_line_in_the_middle() {
    let doc = format!("{}\n{{\"eventName\": \"x\", oops\n\n{}\n", rec("a", "A"), rec("b", "B"));
    let (ev, st) = parse(&doc);
    assert_eq!(ev.len(), 2);
    assert_eq!(st.invalid, 1);
}

#[test]
fn pretty_single_record_and_json_array() {
    let pretty = rec("a", "A").replace(",\"", ",\n  \"");
    let (ev, _) = parse(&pretty);
    assert_eq!(ev.len(), 1);
    let (ev, st) = parse(&format!("[{}, {}]", rec("a", "A"), rec("b", "B")));
    assert_eq!((ev.len(), st.skipped()), (2, 0));
}

#[test]
fn lookup_events_output_with_string_and_broken_events() {
    let inner = serde_json::to_string(&rec("a", "ConsoleLogin")).unwrap();
    let doc = format!(
        r#"{{"NextToken":"t","Events":[{{"EventId":"a","ReadOnly":"false","CloudTrailEvent":{inner}}},{{"EventId":"z","CloudTrailEvent":"{{not json"}}]}}"#
    );
    let (ev, st) = parse(&doc);
    assert_eq!(ev.len(), 1);
    assert_eq!(&*ev[0].name, "ConsoleLogin");
    assert_eq!(st.invalid, 1);
}

#[test]
fn digest_and_insight_are_counted() {
    let digest = r#"{"awsAccountId":"1","digestStartTime":"2024-03-01T10:00:00Z","logFiles":[]}"#;
    let (ev, st) = parse(digest);
    assert!(ev.is_empty());
    assert_eq!(st.digests, 1);
    let insight = rec("i", "PutObject").replace(r#""eventCategory":"Management""#, r#""eventCategory":"Insight""#);
    let (ev, st) = parse(&insight);
    assert_eq!(ev[0].category, Category::Insight);
    assert_eq!(st.insights, 1);
}

#[test]
fn oversized_record_is_skipped_and_neighbours_kept() {
    let big = rec("big", "X").replace("aws-cli/2.15", &"A".repeat(50 << 20));
    let doc = format!(r#"{{"Records":[{},{},{}]}}"#, rec("a", "A"), big, rec("b", "B"));
    let (ev, st) = parse(&doc);
    assert_eq!(ev.len(), 2);
    assert_eq!(st.oversized, 1);
}

#[test]
fn non_utf8_is_repaired_not_dropped() {
    let mut doc = format!(r#"{{"Records":[{}]}}"#, rec("a", "A")).into_bytes();
    let pos = doc.windows(7).position(|w| w == b"aws-cli").unwrap();
    doc[pos] = 0xff;
    let (ev, st) = parse_bytes(&doc, &ParseOptions::default());
    assert_eq!(ev.len(), 1);
    assert_eq!(&*ev[0].user_agent, "\u{fffd}ws-cli/2.15");
    assert_eq!(st.repaired_utf8, 1);
}

#[test]
fn hostile_strings_are_sanitized() {
    let r = rec("a", "A").replace("aws-cli/2.15", r"aws-cli\u001b[31m\u009b\u202e/2.15\r\n");
    let (ev, _) = parse(&r);
    assert_eq!(&*ev[0].user_agent, "aws-cli[31m/2.15  ");
}

#[test]
fn odd_field_types_cost_only_the_field() {
    for (from, to) in [
        (r#""requestParameters":null"#, r#""requestParameters":"a string""#),
        (r#""requestParameters":null"#, r#""requestParameters":{"bucketName":"b"}"#),
        (r#""readOnly":true"#, r#""readOnly":"false""#),
        (r#""awsRegion":"us-east-1""#, r#""awsRegion":42"#),
        (r#""userIdentity":{"#, r#""userIdentityX":{"#),
        (r#""eventID":"a""#, r#""eventID":null"#),
    ] {
        let (ev, st) = parse(&rec("a", "A").replace(from, to));
        assert_eq!((ev.len(), st.invalid), (1, 0), "{to}");
    }
    let (ev, st) = parse(&rec("a", "A").replace(r#""eventTime":"2024-03-01T10:00:00Z","#, ""));
    assert_eq!((ev.len(), st.invalid), (0, 1));
}

#[test]
fn principal_fallbacks() {
    let cases = [
        (r#"{"type":"Root","accountId":"111"}"#, "root:111"),
        (r#"{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}"#, "service:lambda.amazonaws.com"),
        (r#"{"type":"AWSAccount","accountId":"222","principalId":"X"}"#, "account:222"),
        (
            r#"{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/r"}}}"#,
            "arn:aws:iam::1:role/r",
        ),
        (r#"null"#, "unknown"),
        // Only a type: said as such (it read as a principal named "iamuser").
        (r#"{"type":"IAMUser"}"#, "type:IAMUser"),
        (r#"{"type":"AWSService"}"#, "type:AWSService"),
    ];
    for (identity, want) in cases {
        let r = format!(r#"{{"eventTime":"2024-03-01T10:00:00Z","eventName":"X","userIdentity":{identity}}}"#);
        let (ev, _) = parse(&r);
        assert_eq!(&*ev[0].principal, want, "{identity}");
    }
}

#[test]
fn console_login_mfa_and_result() {
    let r = r#"{"eventTime":"2024-03-01T10:00:00Z","eventName":"ConsoleLogin","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/bob"},"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"errorMessage":"Failed authentication"}"#;
    let (ev, _) = parse(r);
    assert_eq!((ev[0].mfa, ev[0].login_ok), (Some(false), Some(false)));
}

#[test]
fn raw_is_kept_on_request() {
    let r = rec("a", "A");
    let (ev, _) = parse_bytes(r.as_bytes(), &ParseOptions { keep_raw: true, ..Default::default() });
    assert_eq!(ev[0].raw.as_deref(), Some(r.as_str()));
}

/// One record with an absurd time panicked `scan` and the console (their displays sliced the
/// digits `rfc3339` fell back to); now it is an invalid record, counted, and the rest stays.
#[test]
fn absurd_event_times_are_counted_invalid_and_the_rest_is_kept() {
    for time in ["100000000000000000", r#""-100000000000000""#, r#""9999-12-31T23:59:59Z""#, r#""1e400""#] {
        let doc = format!(
            r#"{{"Records":[{{"eventTime":{time},"eventName":"X","userIdentity":{{"arn":"a"}}}},{}]}}"#,
            rec("ok", "Y")
        );
        let (ev, st) = parse(&doc);
        assert_eq!((ev.len(), st.invalid), (1, 1), "{time}");
        assert_eq!(&*ev[0].name, "Y");
        assert!(st.last_error.as_deref().is_some_and(|e| e.contains("eventTime")), "{:?}", st.last_error);
    }
}

#[test]
fn s3_bytes_out_and_bucket_in_any_spelling() {
    let s3 = |extra: &str| {
        format!(
            r#"{{"eventTime":"2024-03-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{{"arn":"a"}},"requestParameters":{{"bucketName":"exports","key":"k"}},"additionalEventData":{{"bytesTransferredIn":0,"bytesTransferredOut":{extra}}}}}"#
        )
    };
    for (value, want) in
        [("375", 375), (r#""4096""#, 4096), ("1.0e3", 1000), ("-5", 0), ("2.5", 0), (r#""many""#, 0), ("null", 0)]
    {
        let (ev, _) = parse(&s3(value));
        assert_eq!(ev[0].bytes_out, want, "{value}");
        assert_eq!(ev[0].bucket.as_deref(), Some("exports"));
    }
    // Only S3 reports bytes: another service's field of that name is not read.
    let other = s3("99").replace("s3.amazonaws.com", "lambda.amazonaws.com");
    let (ev, _) = parse(&other);
    assert_eq!((ev[0].bytes_out, ev[0].bucket.as_deref()), (0, None));
}
