use super::*;

fn record(bindings: Vec<SipBinding>) -> SipRegistrationCommand {
    SipRegistrationCommand::Record {
        tenant_id: "default".into(),
        sip_user: "op1".into(),
        at: DateTime::from_timestamp(1_000, 0).unwrap(),
        bindings,
    }
}

fn binding(source: &str, expires: i64) -> SipBinding {
    SipBinding {
        contact: "sip:op1@127.0.0.1:6000".into(),
        source: source.into(),
        expires_at: DateTime::from_timestamp(expires, 0).unwrap(),
    }
}

async fn decide(
    agg: &mut SipRegistration,
    cmd: SipRegistrationCommand,
) -> Result<Vec<SipRegistrationEvent>, SipRegistrationError> {
    let sink = EventSink::default();
    agg.handle(cmd, &(), &sink).await?;
    Ok(sink.collect().await)
}

#[tokio::test]
async fn tel_17_4_a_change_is_recorded_once_and_bad_bindings_are_refused() {
    let mut agg = SipRegistration::default();
    let events = decide(&mut agg, record(vec![binding("127.0.0.1:6000", 4_600)]))
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), "SipBindingsChanged");
    assert_eq!(
        decide(&mut agg, record(vec![])).await,
        Err(SipRegistrationError::AlreadyRecorded)
    );
    let mut fresh = SipRegistration::default();
    let err = decide(&mut fresh, record(vec![binding("phone", 4_600)]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ip:port"), "{err}");
    let err = decide(&mut fresh, record(vec![binding("127.0.0.1:6000", 1_000)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadArgument);
    // Unregistered: an empty set is a change like any other.
    assert_eq!(decide(&mut fresh, record(vec![])).await.unwrap().len(), 1);
}
