//! Codec throughput: decoding a stream of 100-byte QoS 0 PUBLISH packets through the [`Framer`]
//! and encoding chat-sized (~150-byte JSON) publishes.
//!
//! Run with `cargo bench -p mqtt-codec`; results are recorded in BENCHMARKS.md ("Codec").

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use mqtt_codec::{encode, Framer, Packet, ProtocolVersion, Publish, QoS};

/// Packets per decode iteration.
const STREAM_PACKETS: usize = 1000;
/// WebSocket frames rarely line up with packets: feed the stream in chunks of this size.
const CHUNK: usize = 4096;
/// Publishes per encode iteration.
const ENCODE_BATCH: usize = 100;

/// A v5 QoS 0 PUBLISH of exactly 100 bytes on the wire.
fn hundred_byte_publish() -> Packet {
    // 2 (fixed header) + 13 (topic) + 1 (property length) + 84 (payload) = 100.
    Packet::Publish(Box::new(Publish {
        topic: "chat/room/1".into(),
        payload: vec![b'x'; 84],
        ..Publish::default()
    }))
}

fn decode_stream() -> Vec<u8> {
    let packet = hundred_byte_publish();
    let mut stream = Vec::new();
    for _ in 0..STREAM_PACKETS {
        encode(&packet, ProtocolVersion::V5, &mut stream).expect("encodes");
    }
    assert_eq!(
        stream.len(),
        STREAM_PACKETS * 100,
        "each packet is 100 bytes"
    );
    stream
}

fn decode_all(stream: &[u8]) -> usize {
    let mut framer = Framer::new(ProtocolVersion::V5, 256 * 1024);
    let mut count = 0;
    for chunk in stream.chunks(CHUNK) {
        framer.push(chunk);
        while let Some(packet) = framer.next_packet() {
            black_box(packet.expect("valid stream"));
            count += 1;
        }
    }
    count
}

/// A chat message as the app sends it: QoS 1, ~150 bytes of JSON.
fn chat_publish(id: u16) -> Packet {
    let payload = br#"{"id":"01J9Z8Q4X7M2K5N3P6R8T0V2W4","room":"lobby","user":"alice","text":"Hello everyone, is the meeting still at three?","ts":1764288000000}"#;
    Packet::Publish(Box::new(Publish {
        qos: QoS::AtLeastOnce,
        packet_id: Some(id),
        topic: "chat/lobby/messages".into(),
        payload: payload.to_vec(),
        ..Publish::default()
    }))
}

fn bench_decode(c: &mut Criterion) {
    let stream = decode_stream();
    assert_eq!(decode_all(&stream), STREAM_PACKETS);
    let mut group = c.benchmark_group("framer_decode_100B_qos0_v5");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("bytes", |b| b.iter(|| decode_all(black_box(&stream))));
    group.finish();
    let mut group = c.benchmark_group("framer_decode_100B_qos0_v5_packets");
    group.throughput(Throughput::Elements(STREAM_PACKETS as u64));
    group.bench_function("packets", |b| b.iter(|| decode_all(black_box(&stream))));
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let packets: Vec<Packet> = (1..=ENCODE_BATCH as u16).map(chat_publish).collect();
    let mut out = Vec::with_capacity(64 * 1024);
    for p in &packets {
        encode(p, ProtocolVersion::V5, &mut out).expect("encodes");
    }
    let batch_bytes = out.len() as u64;
    let encode_batch = |out: &mut Vec<u8>| {
        out.clear();
        for p in &packets {
            encode(black_box(p), ProtocolVersion::V5, out).expect("encodes");
        }
        out.len()
    };
    let mut group = c.benchmark_group("encode_chat_publish_qos1_v5");
    group.throughput(Throughput::Bytes(batch_bytes));
    group.bench_function("bytes", |b| b.iter(|| encode_batch(&mut out)));
    group.finish();
    let mut group = c.benchmark_group("encode_chat_publish_qos1_v5_packets");
    group.throughput(Throughput::Elements(ENCODE_BATCH as u64));
    group.bench_function("packets", |b| b.iter(|| encode_batch(&mut out)));
    group.finish();
    eprintln!(
        "chat publish: {} bytes on the wire each",
        batch_bytes / ENCODE_BATCH as u64
    );
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn main() {
    // What `criterion_group!`/`criterion_main!` expand to, without their undocumented `pub fn`.
    let mut c = config().configure_from_args();
    bench_decode(&mut c);
    bench_encode(&mut c);
    c.final_summary();
}
