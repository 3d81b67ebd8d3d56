using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpCnn.Kernels;

/// <summary>
/// The pack buffers of one thread: 64-byte aligned, pinned (on the pinned object heap, so no <c>fixed</c> and no
/// native memory to free), grown to the largest block the thread has needed and reused by every later call.
/// </summary>
internal sealed unsafe class GemmWorkspace
{
    private const int AlignFloats = 16; // 64 bytes

    [ThreadStatic]
    private static GemmWorkspace? s_current;

    private Buffer _a;
    private Buffer _b;

    /// <summary>Gets the calling thread's workspace.</summary>
    public static GemmWorkspace Current => s_current ??= new GemmWorkspace();

    /// <summary>Gets the A pack buffer with room for at least <paramref name="floats"/> floats.</summary>
    public float* A(int floats) => _a.Get(floats);

    /// <summary>Gets the B pack buffer with room for at least <paramref name="floats"/> floats.</summary>
    public float* B(int floats) => _b.Get(floats);

    private struct Buffer
    {
        private float[]? _array;
        private float* _aligned;
        private int _capacity;

        public float* Get(int floats)
        {
            if (floats > _capacity)
            {
                // Round up so slowly growing sizes do not reallocate every call.
                int capacity = Math.Max(floats, 2 * _capacity);
                _array = GC.AllocateUninitializedArray<float>(capacity + AlignFloats, pinned: true);
                nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
                _aligned = (float*)((start + 63) & ~(nint)63);
                _capacity = capacity;
            }

            return _aligned;
        }
    }
}
