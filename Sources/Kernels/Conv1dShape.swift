// Conv1dShape: sizes, stride, padding, dilation and groups of a conv1d, with validation.

/// Shape of a conv1d: input (inChannels, length) -> output (outChannels, outLength).
public struct Conv1dShape: Sendable, Equatable {
    public var inChannels, outChannels, length, kernel: Int
    public var stride = 1, padding = 0, dilation = 1, groups = 1

    public init(inChannels: Int, outChannels: Int, length: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.length = length; self.kernel = kernel
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }

    public var outLength: Int { (length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1 }
    /// Floats of im2col scratch `conv1d` needs (pass a buffer at least this long to reuse it).
    public var scratchCount: Int { (inChannels / max(groups, 1)) * kernel * max(outLength, 0) }

    func validate() throws {
        var what: String { "conv1d \(self)" } // built only on failure
        guard inChannels > 0, outChannels > 0, length > 0, kernel > 0, stride > 0, padding >= 0, dilation > 0, groups > 0 else {
            throw KernelError.invalidArgument(what: what, reason: "sizes must be positive (padding >= 0)")
        }
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw KernelError.invalidArgument(what: what, reason: "channels must be divisible by groups")
        }
        guard outLength > 0 else {
            throw KernelError.invalidArgument(what: what, reason: "input too short for the kernel (output length \(outLength))")
        }
    }
}
