// Conv2dShape: sizes, stride, padding, dilation and groups of a conv2d on one image.

/// Shape of a conv2d on one image: input (inChannels, height, width) -> (outChannels, outHeight, outWidth).
public struct Conv2dShape: Sendable, Equatable {
    public var inChannels, outChannels, height, width, kernelH, kernelW: Int
    public var strideH = 1, strideW = 1, padH = 0, padW = 0, dilationH = 1, dilationW = 1, groups = 1

    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int = 1,
                padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.height = height; self.width = width
        kernelH = kernel; kernelW = kernel; strideH = stride; strideW = stride; padH = padding; padW = padding
        dilationH = dilation; dilationW = dilation; self.groups = groups
    }

    public var outHeight: Int { (height + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1 }
    public var outWidth: Int { (width + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1 }
    public var isDepthwise: Bool { groups == inChannels && outChannels == inChannels }
    /// Floats of im2col scratch `conv2d` needs (0 for depthwise).
    public var scratchCount: Int { isDepthwise ? 0 : (inChannels / max(groups, 1)) * kernelH * kernelW * max(outHeight * outWidth, 0) }

    func validate() throws {
        // Built only on failure: describing the shape costs more than a small layer's work.
        var what: String { "conv2d \(self)" }
        guard inChannels > 0, outChannels > 0, height > 0, width > 0, kernelH > 0, kernelW > 0, strideH > 0, strideW > 0,
              padH >= 0, padW >= 0, dilationH > 0, dilationW > 0, groups > 0 else {
            throw KernelError.invalidArgument(what: what, reason: "sizes must be positive (padding >= 0)")
        }
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw KernelError.invalidArgument(what: what, reason: "channels must be divisible by groups")
        }
        guard outHeight > 0, outWidth > 0 else {
            throw KernelError.invalidArgument(what: what, reason: "input too small for the kernel (output \(outHeight)x\(outWidth))")
        }
    }
}
