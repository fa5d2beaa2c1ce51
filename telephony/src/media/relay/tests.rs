use std::time::Duration;

use tokio::net::UdpSocket;

use super::*;
use crate::media::wav;

async fn phone() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

fn tone_packet(codec: Codec, ssrc: u32, seq: u16, ts: u32, amp: f32) -> Vec<u8> {
    let samples: Vec<i16> = (0..FRAME)
        .map(|i| ((i as f32 * 0.3).sin() * amp) as i16)
        .collect();
    let mut payload = Vec::new();
    g711::encode(codec, &samples, &mut payload);
    let mut p = Vec::new();
    build(&mut p, codec.payload_type(), false, seq, ts, ssrc, &payload);
    p
}

fn drain(sock: &UdpSocket) -> Vec<(RtpHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok((n, _)) = sock.try_recv_from(&mut buf) {
        let h = RtpHeader::parse(&buf[..n]).unwrap();
        out.push((
            h,
            buf[h.payload_offset..h.payload_offset + h.payload_len].to_vec(),
        ));
    }
    out
}

#[tokio::test]
async fn relays_both_ways_transcodes_hides_ssrc_changes_and_records() {
    let relay = Relay::bind("127.0.0.1".parse().unwrap()).unwrap();
    let op = phone().await;
    let cu = phone().await;
    relay.set_leg(
        LegId::Operator,
        LegConfig {
            remote: op.local_addr().unwrap(),
            codec: Codec::Pcmu,
            dtmf_pt: None,
        },
    );
    relay.set_leg(
        LegId::Customer,
        LegConfig {
            remote: cu.local_addr().unwrap(),
            codec: Codec::Pcma,
            dtmf_pt: None,
        },
    );
    let path = std::env::temp_dir().join(format!("kaden-relay-{}.wav", rand::random::<u64>()));
    relay.record(path.clone()).await.unwrap();
    let started = Instant::now();
    let to_relay_op = relay.local_addr(LegId::Operator);
    let to_relay_cu = relay.local_addr(LegId::Customer);
    for i in 0..50u16 {
        // The operator's phone restarts its stream half way (new SSRC, new numbering).
        let (ssrc, seq) = if i < 25 {
            (11, 1000 + i)
        } else {
            (12, 40_000 + i)
        };
        op.send_to(
            &tone_packet(Codec::Pcmu, ssrc, seq, u32::from(seq) * 160, 8000.0),
            to_relay_op,
        )
        .await
        .unwrap();
        cu.send_to(
            &tone_packet(Codec::Pcma, 99, 7 + i, u32::from(i) * 160, 6000.0),
            to_relay_cu,
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let at_customer = drain(&cu);
    let at_operator = drain(&op);
    assert_eq!(at_customer.len(), 50);
    assert_eq!(at_operator.len(), 50);
    assert!(at_customer.iter().all(|(h, _)| h.payload_type == 8));
    assert!(at_operator.iter().all(|(h, _)| h.payload_type == 0));
    let ssrc = at_customer[0].0.ssrc;
    assert!(
        at_customer.iter().all(|(h, _)| h.ssrc == ssrc),
        "one outgoing SSRC"
    );
    for w in at_customer.windows(2) {
        assert_eq!(
            w[1].0.seq,
            w[0].0.seq.wrapping_add(1),
            "continuous sequence"
        );
        assert_eq!(w[1].0.timestamp, w[0].0.timestamp.wrapping_add(160));
    }
    assert_eq!(relay.stats().ssrc_changes, 1);

    // Hold: the customer gets silence, not the operator.
    relay.hold(true);
    tokio::time::sleep(Duration::from_millis(20)).await;
    for i in 0..10u16 {
        op.send_to(
            &tone_packet(Codec::Pcmu, 12, 50_000 + i, 0, 8000.0),
            to_relay_op,
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let held = drain(&cu);
    assert!(
        held.len() >= 5,
        "silence keeps flowing on hold: {}",
        held.len()
    );
    assert!(
        held.iter().all(|(_, p)| p.iter().all(|b| *b == 0xD5)),
        "only A-law silence"
    );
    relay.hold(false);

    let report = relay.stop().await;
    let talk = started.elapsed();
    let (rec_path, rec_len) = report.recording.unwrap();
    assert_eq!(rec_path, path);
    let diff = rec_len.as_millis() as i128 - talk.as_millis() as i128;
    assert!(diff.abs() <= 100, "recording {rec_len:?} vs talk {talk:?}");
    let (channels, rate, frames, samples) = wav::read(&path).unwrap();
    assert_eq!((channels, rate), (2, 8000));
    assert_eq!(u128::from(frames) * 1000 / 8000, rec_len.as_millis());
    let left_energy: i64 = samples.iter().step_by(2).map(|s| i64::from(*s).abs()).sum();
    let right_energy: i64 = samples
        .iter()
        .skip(1)
        .step_by(2)
        .map(|s| i64::from(*s).abs())
        .sum();
    assert!(
        left_energy > 0 && right_energy > 0,
        "both channels recorded"
    );
    assert!(report.stats.operator_to_customer >= 50 && report.stats.customer_to_operator >= 50);
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn latches_to_the_real_source_address() {
    let relay = Relay::bind("127.0.0.1".parse().unwrap()).unwrap();
    let op = phone().await;
    let cu = phone().await;
    // The SDP of the customer leg names an address behind NAT that nobody listens on.
    let wrong = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let wrong_addr = wrong.local_addr().unwrap();
    relay.set_leg(
        LegId::Operator,
        LegConfig {
            remote: op.local_addr().unwrap(),
            codec: Codec::Pcmu,
            dtmf_pt: None,
        },
    );
    relay.set_leg(
        LegId::Customer,
        LegConfig {
            remote: wrong_addr,
            codec: Codec::Pcmu,
            dtmf_pt: None,
        },
    );
    cu.send_to(
        &tone_packet(Codec::Pcmu, 5, 1, 0, 1000.0),
        relay.local_addr(LegId::Customer),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    op.send_to(
        &tone_packet(Codec::Pcmu, 6, 1, 0, 1000.0),
        relay.local_addr(LegId::Operator),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(drain(&cu).len(), 1, "sent to the latched address");
    let mut buf = [0u8; 64];
    assert!(
        wrong.try_recv_from(&mut buf).is_err(),
        "not to the SDP address"
    );
    // A stranger on the customer port while the customer is talking is not latched.
    let stranger = phone().await;
    stranger
        .send_to(
            &tone_packet(Codec::Pcmu, 7, 1, 0, 1000.0),
            relay.local_addr(LegId::Customer),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(relay.stats().dropped, 1);
    assert_eq!(drain(&op).len(), 1);
    let report = relay.stop().await;
    assert!(report.recording.is_none());
}

#[tokio::test]
async fn late_packets_land_in_place_and_loss_becomes_silence_in_the_recording() {
    let relay = Relay::bind("127.0.0.1".parse().unwrap()).unwrap();
    let op = phone().await;
    let cu = phone().await;
    relay.set_leg(
        LegId::Operator,
        LegConfig {
            remote: op.local_addr().unwrap(),
            codec: Codec::Pcmu,
            dtmf_pt: None,
        },
    );
    relay.set_leg(
        LegId::Customer,
        LegConfig {
            remote: cu.local_addr().unwrap(),
            codec: Codec::Pcmu,
            dtmf_pt: None,
        },
    );
    let path = std::env::temp_dir().join(format!("kaden-jitter-{}.wav", rand::random::<u64>()));
    let started = relay.record(path.clone()).await.unwrap();
    let to = relay.local_addr(LegId::Customer);
    let pkt = |seq: u16| tone_packet(Codec::Pcmu, 5, seq, u32::from(seq) * 160, 8000.0);
    // 0–500 ms: on time.
    for seq in 0..25 {
        cu.send_to(&pkt(seq), to).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // 500–600 ms: five packets held up in the network, then delivered together, in reverse.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for seq in (25..30).rev() {
        cu.send_to(&pkt(seq), to).await.unwrap();
    }
    // 600–1000 ms: twenty packets lost.
    tokio::time::sleep(Duration::from_millis(400)).await;
    // 1000–1500 ms: on time again.
    for seq in 50..75 {
        cu.send_to(&pkt(seq), to).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let end = Instant::now();
    let report = relay.stop_at(end).await;
    let (_, rec_len) = report.recording.unwrap();
    assert_eq!(
        rec_len.as_millis(),
        (end - started).as_millis(),
        "recording is exactly the talk"
    );
    let (_, _, _, samples) = wav::read(&path).unwrap();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let voiced = |from_ms: usize, to_ms: usize| {
        left[from_ms * 8..(to_ms * 8).min(left.len())]
            .iter()
            .filter(|s| **s != 0)
            .count()
    };
    // The late packets filled 500–600 ms: the first 600 ms are (almost) all tone.
    assert!(
        voiced(20, 580) > 540 * 8 * 9 / 10,
        "late packets placed: {}",
        voiced(20, 580)
    );
    // The lost stretch is silence.
    assert_eq!(voiced(640, 960), 0, "loss is silence");
    // The tail after the loss is all there, up to the hang-up.
    assert!(
        voiced(1040, 1480) > 440 * 8 * 9 / 10,
        "tail: {}",
        voiced(1040, 1480)
    );
    std::fs::remove_file(path).unwrap();
}

/// Send `pkt` from `from` to the relay at `dest`; how long until it comes out at `to`.
async fn hop(from: &UdpSocket, to: &UdpSocket, dest: SocketAddr, pkt: Vec<u8>) -> Duration {
    let mut buf = [0u8; 2048];
    let sent = std::time::Instant::now();
    from.send_to(&pkt, dest).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), to.recv_from(&mut buf))
        .await
        .expect("relayed within 5 s")
        .unwrap();
    sent.elapsed()
}

/// Packet `i` each way (operator, then customer): how long each took through the relay.
async fn round(
    op: &UdpSocket,
    cu: &UdpSocket,
    to_relay: (SocketAddr, SocketAddr),
    i: u16,
) -> [Duration; 2] {
    let ts = u32::from(i) * 160;
    let a = hop(
        op,
        cu,
        to_relay.0,
        tone_packet(Codec::Pcmu, 1, i, ts, 8000.0),
    )
    .await;
    let b = hop(
        cu,
        op,
        to_relay.1,
        tone_packet(Codec::Pcmu, 2, i, ts, 6000.0),
    )
    .await;
    [a, b]
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99).div_ceil(100) - 1]
}

/// A recording writer stuck on a disk that does not answer: relayed audio keeps its latency,
/// the recording drops what does not fit in its queue, and the report says so.
#[tokio::test]
async fn a_stalled_recording_writer_does_not_delay_relayed_audio() {
    use std::sync::atomic::{AtomicBool, Ordering};

    // The "disk": while `stall` is set, each block waits until `release` is dropped (10 s at most).
    let stall = Arc::new(AtomicBool::new(false));
    let (release, released) = std::sync::mpsc::channel::<()>();
    let released = Mutex::new(released);
    let stalling = stall.clone();
    let tuning = WriterTuning {
        queue: 4,
        before_block: Some(Arc::new(move || {
            if stalling.load(Ordering::SeqCst) {
                let _ = lock(&released).recv_timeout(Duration::from_secs(10));
            }
        })),
    };
    let relay = Relay::bind_with_writer("127.0.0.1".parse().unwrap(), tuning).unwrap();
    let op = phone().await;
    let cu = phone().await;
    for (leg, sock) in [(LegId::Operator, &op), (LegId::Customer, &cu)] {
        let config = LegConfig {
            remote: sock.local_addr().unwrap(),
            codec: Codec::Pcmu,
            dtmf_pt: None,
        };
        relay.set_leg(leg, config);
    }
    let to_relay = (
        relay.local_addr(LegId::Operator),
        relay.local_addr(LegId::Customer),
    );
    let path = std::env::temp_dir().join(format!("kaden-stall-{}.wav", rand::random::<u64>()));
    let started = relay.record(path.clone()).await.unwrap();

    // 0–0.6 s: the writer keeps up.
    let mut free = Vec::new();
    for i in 0..30u16 {
        free.extend(round(&op, &cu, to_relay, i).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        relay.stats().recording_dropped,
        0,
        "a free writer drops nothing"
    );
    // 0.6–2.1 s: the writer is stuck; its queue (4 blocks, 80 ms) fills within ~0.1 s.
    stall.store(true, Ordering::SeqCst);
    let mut stalled = Vec::new();
    for i in 30..105u16 {
        stalled.extend(round(&op, &cu, to_relay, i).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dropped = relay.stats().recording_dropped;
    assert!(
        dropped >= 8000,
        "the relay dropped recording audio instead of waiting: {dropped} frames"
    );
    drop(release);
    let end = Instant::now();
    let report = relay.stop_at(end).await;

    let (free_p99, stalled_p99) = (p99(free), p99(stalled.clone()));
    let stalled_max = stalled.iter().max().copied().unwrap_or_default();
    eprintln!(
        "relay latency p99: writer free {free_p99:?}, writer stalled {stalled_p99:?} \
         (max {stalled_max:?}, {} packets); recording frames dropped: {dropped}",
        stalled.len()
    );
    // Generous margins for a loaded 2-core machine: a relay waiting on the writer would show
    // the stall itself (about 1.5 s), not a few milliseconds.
    assert!(
        stalled_p99 < free_p99 + Duration::from_millis(20),
        "stalled writer delays relayed audio: p99 {stalled_p99:?} vs {free_p99:?} free"
    );
    assert!(
        stalled_p99 < Duration::from_millis(50),
        "p99 {stalled_p99:?}"
    );

    // The recording is reported failed (incomplete), as any failed recording is...
    assert!(report.recording.is_none(), "{report:?}");
    let error = report.recording_error.unwrap();
    assert!(error.starts_with("recording incomplete"), "{error}");
    assert!(report.stats.recording_dropped >= dropped);
    // ...and the partial file is still a WAV exactly as long as the talk, audio where it was
    // written and silence where it was dropped.
    let (channels, rate, frames, samples) = wav::read(&path).unwrap();
    assert_eq!((channels, rate), (2, 8000));
    let talk = (end - started).as_micros() * 8000 / 1_000_000;
    assert_eq!(u128::from(frames), talk, "recording is exactly the talk");
    let voiced = |from_ms: usize, to_ms: usize| {
        samples[from_ms * 16..to_ms * 16]
            .iter()
            .filter(|s| **s != 0)
            .count()
    };
    assert!(
        voiced(20, 300) > 280 * 16 * 9 / 10,
        "audio before the stall kept"
    );
    assert_eq!(voiced(1200, 1800), 0, "dropped audio is silence");
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn a_recording_that_cannot_be_created_fails_record_only() {
    let relay = Relay::bind("127.0.0.1".parse().unwrap()).unwrap();
    // The "directory" is a file, so the recording cannot be created.
    let file = std::env::temp_dir().join(format!("kaden-notdir-{}", rand::random::<u64>()));
    std::fs::write(&file, b"x").unwrap();
    assert!(relay.record(file.join("call.wav")).await.is_err());
    tokio::time::sleep(Duration::from_millis(60)).await;
    let report = relay.stop().await;
    assert!(report.recording.is_none());
    assert_eq!(report.recording_error, None, "reported once, by record()");
    std::fs::remove_file(file).unwrap();
}
