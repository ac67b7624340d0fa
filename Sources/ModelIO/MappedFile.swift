// A read-only memory map of a whole file, the single owner of the mapping (munmap in
// deinit). Model readers hand out views into it so multi-hundred-MB checkpoints are paged
// in on demand instead of copied into the heap.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class MappedFile: @unchecked Sendable { // immutable after init
    public let path: String
    public let count: Int
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    public init(path: String) throws(ModelLoadError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw .cannotOpen(path: path, reason: "not a regular file")
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: count)
    }

    /// Tells the kernel the pages covering `range` are not needed now (they are re-read from
    /// the file if touched again), so a loader that copies tensors out keeps the peak
    /// resident memory near the converted weights instead of weights + file.
    public func release(_ range: Range<Int>) {
        guard let base, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound / page) * page
        let end = min(count, ((range.upperBound + page - 1) / page) * page)
        if end > start { _ = madvise(base + start, end - start, MADV_DONTNEED) }
    }

    deinit {
        if let base { munmap(base, count) }
    }
}
