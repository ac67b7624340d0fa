// Placeholder replaced below.
print("kernels bench")
