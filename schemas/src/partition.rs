//! Where a store lives: the partition of its id, computed exactly as the Java
//! client's default partitioner does (murmur2 of the key bytes, made positive,
//! modulo the partition count), so every tool and language agrees.

/// The partition of `key` among `partitions` (which must be positive).
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let hash = murmur2::murmur2(key.as_bytes(), murmur2::KAFKA_SEED) & 0x7fff_ffff;
    // `hash` is below 2^31, so it fits an i32 exactly.
    (hash as i32) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Utils.murmur2` results from Kafka's own `UtilsTest`, as signed Java ints.
    #[test]
    fn agrees_with_the_java_client() {
        let cases: [(&str, i32); 5] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
        ];
        for (key, java) in cases {
            let expected = (java & 0x7fff_ffff) % 1_000_003;
            assert_eq!(partition_for(key, 1_000_003), expected, "{key}");
        }
    }

    #[test]
    fn stays_in_range() {
        for n in 1..50 {
            let p = partition_for(&format!("store-{n}"), n);
            assert!((0..n).contains(&p));
        }
    }
}
