//! The atom filter probe with AVX2: eight 4-byte windows hashed and looked up in
//! the bit filter per step, with one gather. The scalar loop in `atomset.rs`
//! does the same four at a time; this is used when the CPU has AVX2.
//!
//! The only `unsafe` in the compiler: intrinsics, and a gather whose indices are
//! bounded by the filter's size (argued at the call).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Proof that the CPU has AVX2: only [`Avx2::detect`] makes one, and it checks
/// the CPU first. Holding one is what makes the AVX2 probe safe to call.
#[derive(Clone, Copy, Debug)]
pub struct Avx2(());

impl Avx2 {
    /// A token, where this CPU has AVX2.
    pub fn detect() -> Option<Avx2> {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2").then_some(Avx2(()))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }

    /// [`probe_run`] on this CPU. `filter` must hold `2^(32 - shift)` bits; a
    /// smaller one panics rather than read outside it.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    pub fn probe_run(
        self,
        filter: &[u64],
        shift: u32,
        mul: u32,
        hay: &[u8],
        from: usize,
        hit: impl FnMut(usize) -> bool,
    ) -> (usize, bool) {
        assert!(
            (1..=32).contains(&shift) && (filter.len() as u64) * 64 >= 1u64 << (32 - shift),
            "the filter must hold 2^(32 - shift) bits"
        );
        // SAFETY: the token proves the CPU has AVX2 (only `detect` makes one),
        // and the assertion above is `probe_run`'s filter-size precondition.
        unsafe { probe_run(filter, shift, mul, hay, from, hit) }
    }
}

/// Probe every position `p` from `from` on while `p + 16 <= hay.len()`, and call `hit(p)` for each one whose window has its filter bit set,
/// in order, until it returns `false`. Returns where the probing stopped (the
/// caller goes on from there) and whether `hit` asked to stop.
///
/// The whole loop is compiled with AVX2, so that the probe is inlined into it
/// rather than called per step.
///
/// # Safety
/// The CPU must support AVX2 ([`Avx2::detect`]), and `filter` must hold
/// `2^(32 - shift)` bits (the gather reads the word of every hashed slot).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn probe_run(
    filter: &[u64],
    shift: u32,
    mul: u32,
    hay: &[u8],
    from: usize,
    mut hit: impl FnMut(usize) -> bool,
) -> (usize, bool) {
    let mut p = from;
    while p + 16 <= hay.len() {
        // Sixteen positions per step where the bytes allow: the two gathers
        // overlap, and the branch on "any hit" is taken half as often.
        // SAFETY: AVX2 is enabled in this function, and `hay` holds `p + 16`
        // bytes (`p + 24` for the second probe).
        let (mut m, step) = unsafe {
            match p + 24 <= hay.len() {
                true => (
                    probe8(filter, shift, mul, hay, p)
                        | probe8(filter, shift, mul, hay, p + 8) << 8,
                    16,
                ),
                false => (probe8(filter, shift, mul, hay, p), 8),
            }
        };
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            if !hit(p + i) {
                return (p, false);
            }
        }
        p += step;
    }
    (p, true)
}

/// For positions `p..p + 8` of `hay` (which must hold `p + 16` bytes), a bit mask
/// of the positions whose 4-byte window has its filter bit set. `filter` has
/// `2^(32 - shift)` bits.
///
/// # Safety
/// The CPU must support AVX2 ([`Avx2::detect`]), and `filter` must hold
/// `2^(32 - shift)` bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn probe8(filter: &[u64], shift: u32, mul: u32, hay: &[u8], p: usize) -> u32 {
    let bytes = &hay[p..p + 16];
    // SAFETY: `bytes` is 16 readable bytes (bounds-checked slice above); the
    // unaligned load has no alignment requirement.
    let v = unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) };
    let both = _mm256_broadcastsi128_si256(v);
    // Dword i = bytes i..i + 4: lane 0 builds windows 0-3, lane 1 windows 4-7.
    let ctrl = _mm256_setr_epi8(
        0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, //
        4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10,
    );
    let windows = _mm256_shuffle_epi8(both, ctrl);
    let hashed = _mm256_mullo_epi32(windows, _mm256_set1_epi32(mul as i32));
    let slot = _mm256_srl_epi32(hashed, _mm_cvtsi32_si128(shift as i32));
    let word = _mm256_srli_epi32::<5>(slot);
    let bit = _mm256_and_si256(slot, _mm256_set1_epi32(31));
    // SAFETY: every `slot` is below 2^(32 - shift), the filter's bit count, so
    // every `word` (slot / 32) indexes one of the filter's `2 * filter.len()`
    // u32 words; the gather reads only those.
    let words = unsafe { _mm256_i32gather_epi32::<4>(filter.as_ptr().cast(), word) };
    let set = _mm256_and_si256(_mm256_srlv_epi32(words, bit), _mm256_set1_epi32(1));
    let hit = _mm256_cmpeq_epi32(set, _mm256_set1_epi32(1));
    _mm256_movemask_ps(_mm256_castsi256_ps(hit)) as u32
}
