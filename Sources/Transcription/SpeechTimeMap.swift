// Maps times in "speech-only" audio (the VAD's speech regions cut out and joined end to
// end) back to times in the original media, so a recogniser can run on speech alone while
// every timestamp it reports lands where that speech really is. A time on the seam between
// two regions belongs to the earlier region when it ends something (a segment's or word's
// end) and to the later one when it starts something.

public struct SpeechTimeMap: Sendable, Equatable {
    /// One kept region: where it sits in the joined audio and in the original, in samples.
    public struct Piece: Sendable, Equatable {
        public var joinedStart: Int
        public var originalStart: Int
        public var length: Int
        public var joinedEnd: Int { joinedStart + length }
        public var originalEnd: Int { originalStart + length }
    }

    public let pieces: [Piece]
    public let sampleRate: Int

    /// `regions` are (start, end) sample ranges of the original, in order and not overlapping.
    public init(regions: [(start: Int, end: Int)], sampleRate: Int = 16_000) {
        var pieces: [Piece] = []
        var joined = 0
        for r in regions where r.end > r.start {
            pieces.append(Piece(joinedStart: joined, originalStart: r.start, length: r.end - r.start))
            joined += r.end - r.start
        }
        self.pieces = pieces
        self.sampleRate = sampleRate
    }

    public var joinedSampleCount: Int { pieces.last?.joinedEnd ?? 0 }

    /// Index of the piece holding joined time `ms`.
    public func pieceIndex(joinedMs ms: Int64, isEnd: Bool) -> Int? {
        guard !pieces.isEmpty else { return nil }
        let sample = Int(ms) * sampleRate / 1000
        // Pieces are few (one per speech region); a linear scan keeps the seam rule obvious.
        for (i, p) in pieces.enumerated() {
            if isEnd ? sample <= p.joinedEnd : sample < p.joinedEnd { return i }
        }
        return pieces.count - 1
    }

    /// Original time (ms) of joined time `ms`, placed in piece `index` (clamped to it).
    public func originalMs(joinedMs ms: Int64, inPiece index: Int) -> Int64 {
        let p = pieces[index]
        let sample = min(max(Int(ms) * sampleRate / 1000, p.joinedStart), p.joinedEnd)
        return Int64(p.originalStart + (sample - p.joinedStart)) * 1000 / Int64(sampleRate)
    }

    public func originalMs(joinedMs ms: Int64, isEnd: Bool) -> Int64 {
        guard let i = pieceIndex(joinedMs: ms, isEnd: isEnd) else { return ms }
        return originalMs(joinedMs: ms, inPiece: i)
    }
}
