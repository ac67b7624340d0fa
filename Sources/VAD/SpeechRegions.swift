// Speech regions from per-chunk speech probabilities: the hysteresis state machine of
// silero-vad's `get_speech_timestamps` (utils_vad.py), reimplemented with the same results
// (checked against the package on real clips, Tests/Fixtures/vad):
// - speech starts at the first chunk with p ≥ threshold;
// - it ends where p first fell below the exit threshold, once that silence has lasted
//   `minSilenceMs` (p back above threshold in between cancels the pending end);
// - with a finite `maxSpeechSeconds`, a region that grows too long is cut at the longest (or
//   last) silence of at least `minSilenceAtMaxSpeechMs` inside it, else at the current chunk;
// - regions not longer than `minSpeechMs` are dropped; a region still open at the end runs to
//   the end of the audio;
// - finally each region is padded by `speechPadMs`, splitting the gap when two are closer than
//   twice that.
// All arithmetic is in samples at 16 kHz, as in the reference.
public enum SpeechRegions {
    public static func detect(
        probabilities: [Float], sampleCount: Int, options: SpeechRegionOptions = .default
    ) throws(VADError) -> [SpeechRegion] {
        try options.validate()
        let rate = Double(SileroVAD.sampleRate)
        let window = SileroVAD.chunkSamples
        let minSpeech = rate * Double(options.minSpeechMs) / 1000
        let pad = rate * Double(options.speechPadMs) / 1000
        let maxSpeech = rate * options.maxSpeechSeconds - Double(window) - 2 * pad
        let minSilence = rate * Double(options.minSilenceMs) / 1000
        let minSilenceAtMax = rate * Double(options.minSilenceAtMaxSpeechMs) / 1000
        let threshold = options.threshold
        let exitThreshold = options.effectiveNegativeThreshold

        var regions: [(start: Int, end: Int)] = []
        var inSpeech = false
        var start = 0  // start of the open region (valid while `open`)
        var open = false  // a region is being built (Python's non-empty current_speech)
        var silenceStart = 0  // 0 = no pending silence (temp_end)
        var lastSilenceEnd = 0, nextStart = 0  // prev_end / next_start of the max-length cut
        var silences: [(end: Int, length: Int)] = []  // candidate cut points (possible_ends)

        func resetCut() {
            lastSilenceEnd = 0; nextStart = 0; silenceStart = 0
            silences.removeAll()
        }

        for (index, probability) in probabilities.enumerated() {
            // Compared in Double, as the reference compares float32 outputs with Python floats.
            let p = Double(probability)
            let sample = index * window
            if p >= threshold && silenceStart != 0 {
                let silence = sample - silenceStart
                if Double(silence) > minSilenceAtMax { silences.append((silenceStart, silence)) }
                silenceStart = 0
                if nextStart < lastSilenceEnd { nextStart = sample }
            }
            if p >= threshold && !inSpeech {
                inSpeech = true
                start = sample
                open = true
                continue
            }
            if inSpeech && Double(sample - start) > maxSpeech {
                if options.useLongestSilenceAtMaxSpeech && !silences.isEmpty {
                    // The first of the longest silences, as Python's max() picks it.
                    let cut = silences.reduce(silences[0]) { $1.length > $0.length ? $1 : $0 }
                    regions.append((start, cut.end))
                    open = false
                    let resume = cut.end + cut.length
                    if resume < cut.end + sample {
                        start = resume
                        open = true
                    } else {
                        inSpeech = false
                    }
                    resetCut()
                } else if lastSilenceEnd != 0 {
                    regions.append((start, lastSilenceEnd))
                    open = false
                    if nextStart < lastSilenceEnd {
                        inSpeech = false
                    } else {
                        start = nextStart
                        open = true
                    }
                    resetCut()
                } else {
                    regions.append((start, sample))
                    open = false
                    inSpeech = false
                    resetCut()
                    continue
                }
            }
            if p < exitThreshold && inSpeech {
                if silenceStart == 0 { silenceStart = sample }
                let silence = sample - silenceStart
                if !options.useLongestSilenceAtMaxSpeech && Double(silence) > minSilenceAtMax {
                    lastSilenceEnd = silenceStart
                }
                if Double(silence) < minSilence { continue }
                if Double(silenceStart - start) > minSpeech { regions.append((start, silenceStart)) }
                open = false
                inSpeech = false
                resetCut()
                continue
            }
        }
        if open && Double(sampleCount - start) > minSpeech {
            regions.append((start, sampleCount))
        }

        // Padding: widen each region, sharing the gap when neighbours are close.
        for i in regions.indices {
            if i == 0 { regions[i].start = max(0, Int(Double(regions[i].start) - pad)) }
            if i + 1 < regions.count {
                let gap = regions[i + 1].start - regions[i].end
                if Double(gap) < 2 * pad {
                    let half = floorDiv(gap, 2)
                    regions[i].end += half
                    regions[i + 1].start = max(0, regions[i + 1].start - half)
                } else {
                    regions[i].end = min(sampleCount, Int(Double(regions[i].end) + pad))
                    regions[i + 1].start = max(0, Int(Double(regions[i + 1].start) - pad))
                }
            } else {
                regions[i].end = min(sampleCount, Int(Double(regions[i].end) + pad))
            }
        }
        return regions.map { SpeechRegion(startSample: $0.start, endSample: $0.end) }
    }

    /// Python's `//` (rounds towards −∞).
    private static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
