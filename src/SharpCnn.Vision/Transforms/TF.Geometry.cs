namespace SharpCnn.Vision.Transforms;

/// <summary>How a resampling transform reads between pixels.</summary>
public enum Interpolation
{
    /// <summary>The nearest source pixel.</summary>
    Nearest,

    /// <summary>Bilinear interpolation of the four surrounding pixels.</summary>
    Bilinear,
}

/// <summary>How <see cref="TF.Pad"/> fills the border, as torchvision's <c>padding_mode</c>.</summary>
public enum PaddingMode
{
    /// <summary>A constant fill value.</summary>
    Constant,

    /// <summary>Repeat the edge pixel: a b c | c c.</summary>
    Edge,

    /// <summary>Mirror without repeating the edge: a b c | b a (padding must be smaller than the side).</summary>
    Reflect,

    /// <summary>Mirror repeating the edge: a b c | c b (padding at most the side).</summary>
    Symmetric,
}

/// <summary>
/// The deterministic image functions the transforms are built from, as <c>torchvision.transforms.functional</c>
/// (imported as <c>TF</c> by convention) on float tensors. Images are (…, H, W): every leading index is one H×W
/// plane (usually C×H×W); the colour functions also need C (dimension −3) to be 1 or 3. Every function returns a
/// new tensor and leaves its input untouched. Each is checked against torchvision 0.14 in the golden tests.
/// </summary>
public static partial class TF
{
    /// <summary>Mirrors left–right: out[…, y, x] = in[…, y, W − 1 − x], as <c>TF.hflip</c>.</summary>
    public static Tensor HorizontalFlip(Tensor image)
    {
        (int planes, int h, int w) = Check.Image(image, "HorizontalFlip");
        ReadOnlySpan<float> src = image.Data;
        var data = new float[src.Length];
        for (int row = 0; row < planes * h; row++)
        {
            Span<float> d = data.AsSpan(row * w, w);
            src.Slice(row * w, w).CopyTo(d);
            d.Reverse();
        }

        return new Tensor(data, image.Shape);
    }

    /// <summary>Mirrors top–bottom: out[…, y, x] = in[…, H − 1 − y, x], as <c>TF.vflip</c>.</summary>
    public static Tensor VerticalFlip(Tensor image)
    {
        (int planes, int h, int w) = Check.Image(image, "VerticalFlip");
        ReadOnlySpan<float> src = image.Data;
        var data = new float[src.Length];
        for (int p = 0; p < planes; p++)
        {
            for (int y = 0; y < h; y++)
            {
                src.Slice(((p * h) + y) * w, w).CopyTo(data.AsSpan(((p * h) + h - 1 - y) * w, w));
            }
        }

        return new Tensor(data, image.Shape);
    }

    /// <summary>
    /// The window out[…, y, x] = in[…, top + y, left + x] of size <paramref name="height"/>×<paramref name="width"/>,
    /// as <c>TF.crop</c>: the window may reach outside the image, where it reads <paramref name="fill"/> (default 0,
    /// torchvision's choice; one value or one per channel).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive size.</exception>
    public static Tensor Crop(Tensor image, int top, int left, int height, int width, IReadOnlyList<float>? fill = null)
    {
        (_, int h, int w) = Check.Image(image, "Crop");
        Check.Size(height, width, "Crop");
        float[]? f = Check.Fill(fill, "Crop");
        Check.FillMatches(f, image, "Crop");
        return Remap(image, AxisMap(height, top, h, PaddingMode.Constant), AxisMap(width, left, w, PaddingMode.Constant), f);
    }

    /// <summary>
    /// The central <paramref name="height"/>×<paramref name="width"/> window, as <c>TF.center_crop</c>: it starts at
    /// top = round((H − height) / 2), left = round((W − width) / 2) with ties to even (Python's round); a side
    /// larger than the image is first zero-padded by ⌊d/2⌋ before and ⌈d/2⌉ after.
    /// </summary>
    public static Tensor CenterCrop(Tensor image, int height, int width)
    {
        (_, int h, int w) = Check.Image(image, "CenterCrop");
        Check.Size(height, width, "CenterCrop");
        return Crop(image, CenterOffset(h, height), CenterOffset(w, width), height, width);
    }

    // Where the central window of `size` starts in a side of length n (negative: the zero padding torchvision adds).
    private static int CenterOffset(int n, int size) =>
        size > n ? -((size - n) / 2) : (int)Math.Round((n - size) / 2.0, MidpointRounding.ToEven);

    /// <summary>
    /// Pads the border, as <c>TF.pad</c>: <paramref name="padding"/> is one value for all sides, two (left/right,
    /// top/bottom) or four (left, top, right, bottom), all ≥ 0. <paramref name="fill"/> (default 0; one value or
    /// one per channel) is used by <see cref="PaddingMode.Constant"/> only.
    /// </summary>
    /// <exception cref="ArgumentException">A padding of another length, a negative one, or a reflect/symmetric padding too large for the side.</exception>
    public static Tensor Pad(Tensor image, IReadOnlyList<int> padding, PaddingMode mode = PaddingMode.Constant, IReadOnlyList<float>? fill = null)
    {
        (_, int h, int w) = Check.Image(image, "Pad");
        (int left, int top, int right, int bottom) = PaddingSides(padding, "Pad");
        float[]? f = Check.Fill(fill, "Pad");
        Check.FillMatches(f, image, "Pad");
        CheckPadFits(mode, left, right, w, "width", nameof(padding));
        CheckPadFits(mode, top, bottom, h, "height", nameof(padding));
        return Remap(image, AxisMap(h + top + bottom, -top, h, mode), AxisMap(w + left + right, -left, w, mode), f);
    }

    /// <summary>Reads a torchvision padding list (1, 2 or 4 non-negative values) as (left, top, right, bottom).</summary>
    internal static (int Left, int Top, int Right, int Bottom) PaddingSides(IReadOnlyList<int> padding, string op)
    {
        ArgumentNullException.ThrowIfNull(padding);
        (int, int, int, int) sides = padding.Count switch
        {
            1 => (padding[0], padding[0], padding[0], padding[0]),
            2 => (padding[0], padding[1], padding[0], padding[1]),
            4 => (padding[0], padding[1], padding[2], padding[3]),
            _ => throw new ArgumentException($"{op} padding needs 1, 2 or 4 values (all, left/right and top/bottom, or left, top, right, bottom); got {padding.Count}.", nameof(padding)),
        };
        if (padding.Any(p => p < 0))
        {
            throw new ArgumentException($"{op} padding must be non-negative; got [{string.Join(", ", padding)}].", nameof(padding));
        }

        return sides;
    }

    private static void CheckPadFits(PaddingMode mode, int before, int after, int n, string side, string paramName)
    {
        if ((mode == PaddingMode.Reflect && Math.Max(before, after) >= n) || (mode == PaddingMode.Symmetric && Math.Max(before, after) > n))
        {
            string bound = mode == PaddingMode.Reflect ? "less than" : "at most";
            throw new ArgumentException(
                $"Pad with mode {mode} needs padding {bound} the image {side} {n}; got {before} and {after}.", paramName);
        }
    }

    /// <summary>
    /// For each output index k of a side of length <paramref name="outLength"/>, the source index of position
    /// s = offset + k in a side of length n, or −1 where the constant fill applies. Edge clamps s; reflect maps
    /// −1 → 1 and n → n − 2; symmetric maps −1 → 0 and n → n − 1 (one reflection: the callers check the padding).
    /// </summary>
    internal static int[] AxisMap(int outLength, int offset, int n, PaddingMode mode)
    {
        var map = new int[outLength];
        for (int k = 0; k < outLength; k++)
        {
            int s = offset + k;
            map[k] = (uint)s < (uint)n ? s : mode switch
            {
                PaddingMode.Edge => Math.Clamp(s, 0, n - 1),
                PaddingMode.Reflect => s < 0 ? -s : (2 * (n - 1)) - s,
                PaddingMode.Symmetric => s < 0 ? -s - 1 : (2 * n) - 1 - s,
                _ => -1,
            };
        }

        return map;
    }

    /// <summary>
    /// out[p, y, x] = in[p, rows[y], cols[x]], or the plane's fill where either index is −1. Runs of consecutive
    /// source columns are copied as spans, so crops and constant pads are memory copies.
    /// </summary>
    internal static Tensor Remap(Tensor image, int[] rows, int[] cols, float[]? fill)
    {
        int h = image.Size(-2);
        int w = image.Size(-1);
        int planes = image.Numel / (h * w);
        int channels = Check.Channels(image);
        int oh = rows.Length;
        int ow = cols.Length;
        ReadOnlySpan<float> src = image.Data;
        var data = new float[checked(planes * oh * ow)];
        for (int p = 0; p < planes; p++)
        {
            float f = Check.FillOf(fill, p, channels);
            for (int y = 0; y < oh; y++)
            {
                Span<float> d = data.AsSpan(((p * oh) + y) * ow, ow);
                if (rows[y] < 0)
                {
                    d.Fill(f);
                    continue;
                }

                ReadOnlySpan<float> s = src.Slice(((p * h) + rows[y]) * w, w);
                int x = 0;
                while (x < ow)
                {
                    int c = cols[x];
                    if (c < 0)
                    {
                        d[x++] = f;
                        continue;
                    }

                    int end = x + 1;
                    while (end < ow && cols[end] == c + (end - x))
                    {
                        end++;
                    }

                    s.Slice(c, end - x).CopyTo(d[x..end]);
                    x = end;
                }
            }
        }

        int[] shape = image.Shape;
        shape[^2] = oh;
        shape[^1] = ow;
        return new Tensor(data, shape);
    }

    /// <summary>
    /// The output size <c>TF.resize</c> gives for an int <paramref name="size"/>: the shorter side becomes
    /// <paramref name="size"/> and the longer ⌊size · long / short⌋; when <paramref name="maxSize"/> is given and the
    /// longer side would exceed it, the longer side becomes maxSize and the shorter ⌊maxSize · short / long⌋.
    /// </summary>
    /// <exception cref="ArgumentException">A non-positive size, or maxSize not greater than size.</exception>
    public static (int Height, int Width) ResizedSize(int height, int width, int size, int? maxSize = null)
    {
        Check.Size(height, width, "Resize");
        Check.Size(size, size, "Resize");
        int shortSide = Math.Min(height, width);
        int longSide = Math.Max(height, width);
        int newShort = size;
        int newLong = (int)((long)size * longSide / (double)shortSide);
        if (maxSize is int max)
        {
            if (max <= size)
            {
                throw new ArgumentException($"Resize maxSize must be greater than size; got size {size} and maxSize {max}.", nameof(maxSize));
            }

            if (newLong > max)
            {
                (newShort, newLong) = ((int)((long)max * newShort / (double)newLong), max);
            }
        }

        return width <= height ? (newLong, newShort) : (newShort, newLong);
    }

    /// <summary>Resizes so that the shorter side is <paramref name="size"/> (see <see cref="ResizedSize"/>), as <c>TF.resize(img, size)</c>.</summary>
    public static Tensor Resize(Tensor image, int size, int? maxSize = null, Interpolation interpolation = Interpolation.Bilinear, bool antialias = true)
    {
        (_, int h, int w) = Check.Image(image, "Resize");
        (int oh, int ow) = ResizedSize(h, w, size, maxSize);
        return Resize(image, oh, ow, interpolation, antialias);
    }

    /// <summary>
    /// Resizes to <paramref name="height"/>×<paramref name="width"/>, as <c>TF.resize(img, [h, w])</c> on tensors
    /// (<c>interpolate(..., align_corners=False)</c>).
    /// </summary>
    /// <remarks>
    /// <para>Per side with scale s = in/out (float): bilinear reads source coordinate u = max(s·(o + ½) − ½, 0)
    /// (half-pixel centres), i₀ = ⌊u⌋, i₁ = min(i₀ + 1, in − 1), λ = u − i₀, and
    /// out = (1 − λ_y)·((1 − λ_x)·x₀₀ + λ_x·x₀₁) + λ_y·((1 − λ_x)·x₁₀ + λ_x·x₁₁).</para>
    /// <para>With <paramref name="antialias"/> (default true, as torchvision ≥ 0.17 for tensors; 0.14 defaulted to
    /// false) a side that shrinks is filtered with a triangle kernel stretched by s (PIL's and PyTorch's
    /// <c>antialias=True</c>): out[o] = Σⱼ w(j)·in[j] / Σⱼ w(j) over j ∈ [⌊c − s + ½⌋, ⌊c + s + ½⌋) with
    /// c = s·(o + ½) and w(j) = max(0, 1 − |(j − c + ½)/s|), width first, then height. It equals plain bilinear
    /// on a side that grows. Nearest reads in[min(⌊o·s⌋, in − 1)] (PyTorch's legacy <c>nearest</c>).</para>
    /// </remarks>
    /// <exception cref="ArgumentException">A non-positive size.</exception>
    public static Tensor Resize(Tensor image, int height, int width, Interpolation interpolation = Interpolation.Bilinear, bool antialias = true)
    {
        (int planes, int h, int w) = Check.Image(image, "Resize");
        Check.Size(height, width, "Resize");
        if (h == height && w == width)
        {
            return new Tensor(image.ToArray(), image.Shape);
        }

        int[] shape = image.Shape;
        shape[^2] = height;
        shape[^1] = width;
        var data = new float[checked(planes * height * width)];
        if (interpolation == Interpolation.Nearest)
        {
            ResizeNearest(image.Data, planes, h, w, data, height, width);
        }
        else if (antialias && (height < h || width < w))
        {
            ResizeAntialias(image.Data, planes, h, w, data, height, width);
        }
        else
        {
            ResizeBilinear(image.Data, planes, h, w, data, height, width);
        }

        return new Tensor(data, shape);
    }

    /// <summary>Crops then resizes, as <c>TF.resized_crop</c>.</summary>
    public static Tensor ResizedCrop(Tensor image, int top, int left, int height, int width, int outHeight, int outWidth,
                                     Interpolation interpolation = Interpolation.Bilinear, bool antialias = true) =>
        Resize(Crop(image, top, left, height, width), outHeight, outWidth, interpolation, antialias);

    private static void ResizeNearest(ReadOnlySpan<float> src, int planes, int h, int w, Span<float> dst, int oh, int ow)
    {
        int[] rows = NearestMap(h, oh);
        int[] cols = NearestMap(w, ow);
        for (int p = 0; p < planes; p++)
        {
            for (int y = 0; y < oh; y++)
            {
                ReadOnlySpan<float> s = src.Slice(((p * h) + rows[y]) * w, w);
                Span<float> d = dst.Slice(((p * oh) + y) * ow, ow);
                for (int x = 0; x < ow; x++)
                {
                    d[x] = s[cols[x]];
                }
            }
        }
    }

    // PyTorch's nearest_idx: identity for equal sizes, o/2 for an exact doubling, else min(⌊o·s⌋, n − 1) in float.
    private static int[] NearestMap(int n, int outLength)
    {
        var map = new int[outLength];
        float scale = (float)n / outLength;
        for (int o = 0; o < outLength; o++)
        {
            map[o] = outLength == n ? o : outLength == 2 * n ? o >> 1 : Math.Min((int)MathF.Floor(o * scale), n - 1);
        }

        return map;
    }

    // Indices and weights of plain bilinear along one side, in PyTorch's float arithmetic:
    // u = (float)(s·(o + 0.5) − 0.5) with s = (float)in / out, clamped at 0.
    private static (int[] I0, int[] I1, float[] L0, float[] L1) LinearWeights(int n, int outLength)
    {
        var i0 = new int[outLength];
        var i1 = new int[outLength];
        var l0 = new float[outLength];
        var l1 = new float[outLength];
        float scale = (float)n / outLength;
        for (int o = 0; o < outLength; o++)
        {
            float u = (float)((scale * (o + 0.5)) - 0.5);
            if (u < 0)
            {
                u = 0;
            }

            int a = (int)u;
            i0[o] = a;
            i1[o] = a < n - 1 ? a + 1 : a;
            l1[o] = u - a;
            l0[o] = 1f - l1[o];
        }

        return (i0, i1, l0, l1);
    }

    private static void ResizeBilinear(ReadOnlySpan<float> src, int planes, int h, int w, Span<float> dst, int oh, int ow)
    {
        (int[] r0, int[] r1, float[] h0, float[] h1) = LinearWeights(h, oh);
        (int[] c0, int[] c1, float[] w0, float[] w1) = LinearWeights(w, ow);
        for (int p = 0; p < planes; p++)
        {
            ReadOnlySpan<float> plane = src.Slice(p * h * w, h * w);
            for (int y = 0; y < oh; y++)
            {
                ReadOnlySpan<float> top = plane.Slice(r0[y] * w, w);
                ReadOnlySpan<float> bottom = plane.Slice(r1[y] * w, w);
                Span<float> d = dst.Slice(((p * oh) + y) * ow, ow);
                for (int x = 0; x < ow; x++)
                {
                    float t = (top[c0[x]] * w0[x]) + (top[c1[x]] * w1[x]);
                    float b = (bottom[c0[x]] * w0[x]) + (bottom[c1[x]] * w1[x]);
                    d[x] = (t * h0[y]) + (b * h1[y]);
                }
            }
        }
    }

    // The antialiased (triangle-filter) weights along one side, in PyTorch's _compute_weights_aa arithmetic:
    // for a side that grows (s < 1) the support is 1 and the filter unstretched, which is plain bilinear.
    private static (int[] Start, int[] Length, float[] Weights, int Taps) AntialiasWeights(int n, int outLength)
    {
        float scale = (float)n / outLength;
        float support = scale >= 1f ? scale : 1f;
        float invScale = scale >= 1f ? 1f / scale : 1f;
        int taps = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outLength];
        var length = new int[outLength];
        var weights = new float[outLength * taps];
        for (int o = 0; o < outLength; o++)
        {
            float center = (float)(scale * (o + 0.5));
            int lo = Math.Max((int)(center - support + 0.5), 0);
            int len = Math.Min((int)(center + support + 0.5), n) - lo;
            Span<float> wt = weights.AsSpan(o * taps, taps);
            float total = 0f;
            for (int j = 0; j < len; j++)
            {
                float x = (float)((((float)(j + lo - center)) + 0.5) * invScale);
                float v = Math.Abs(x) < 1f ? 1f - Math.Abs(x) : 0f;
                wt[j] = v;
                total += v;
            }

            for (int j = 0; j < len && total != 0f; j++)
            {
                wt[j] /= total;
            }

            start[o] = lo;
            length[o] = len;
        }

        return (start, length, weights, taps);
    }

    private static void ResizeAntialias(ReadOnlySpan<float> src, int planes, int h, int w, Span<float> dst, int oh, int ow)
    {
        // Width first into (planes, h, ow), then height, as PyTorch's separable kernel.
        (int[] cs, int[] cl, float[] cw, int ct) = AntialiasWeights(w, ow);
        (int[] rs, int[] rl, float[] rw, int rt) = AntialiasWeights(h, oh);
        var temp = new float[planes * h * ow];
        for (int row = 0; row < planes * h; row++)
        {
            ReadOnlySpan<float> s = src.Slice(row * w, w);
            Span<float> d = temp.AsSpan(row * ow, ow);
            for (int x = 0; x < ow; x++)
            {
                ReadOnlySpan<float> wt = cw.AsSpan(x * ct, cl[x]);
                ReadOnlySpan<float> v = s.Slice(cs[x], cl[x]);
                float acc = v[0] * wt[0];
                for (int j = 1; j < wt.Length; j++)
                {
                    acc += v[j] * wt[j];
                }

                d[x] = acc;
            }
        }

        for (int p = 0; p < planes; p++)
        {
            for (int y = 0; y < oh; y++)
            {
                ReadOnlySpan<float> wt = rw.AsSpan(y * rt, rl[y]);
                Span<float> d = dst.Slice(((p * oh) + y) * ow, ow);
                ReadOnlySpan<float> first = temp.AsSpan(((p * h) + rs[y]) * ow, ow);
                for (int x = 0; x < ow; x++)
                {
                    d[x] = first[x] * wt[0];
                }

                for (int j = 1; j < wt.Length; j++)
                {
                    ReadOnlySpan<float> r = temp.AsSpan(((p * h) + rs[y] + j) * ow, ow);
                    for (int x = 0; x < ow; x++)
                    {
                        d[x] += r[x] * wt[j];
                    }
                }
            }
        }
    }
}
