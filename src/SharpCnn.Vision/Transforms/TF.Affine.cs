namespace SharpCnn.Vision.Transforms;

public static partial class TF
{
    /// <summary>
    /// Rotates, translates, scales and shears an image about its centre, keeping its size, as <c>TF.affine</c> on
    /// tensors: each output pixel is mapped back through the inverse transform and sampled there.
    /// </summary>
    /// <remarks>
    /// <para>With centre (c_x, c_y) = ((W − 1)/2, (H − 1)/2), rotation θ = <paramref name="angle"/> degrees, shear
    /// angles (s_x, s_y) in degrees, scale k and translation (t_x, t_y) in pixels, the forward map is
    /// p ↦ C·T·R·S·K·C⁻¹·p with R·S = [[cos(θ − s_y)/cos s_y, −cos(θ − s_y)·tan s_x/cos s_y − sin θ],
    /// [sin(θ − s_y)/cos s_y, −sin(θ − s_y)·tan s_x/cos s_y + cos θ]] (torchvision's rotation-shear matrix; with
    /// y pointing down a positive angle turns the image clockwise on screen). Output pixel (x, y) reads the
    /// source at M⁻¹·(x − c_x − t_x, y − c_y − t_y)/k + (c_x, c_y), computed in double precision.</para>
    /// <para>Sampling is <c>grid_sample(align_corners=False, padding_mode="zeros")</c>: nearest rounds half to
    /// even; bilinear weights the four neighbours, reading 0 outside. With a <paramref name="fill"/> (one value
    /// or one per channel) torchvision also samples an all-ones mask m the same way and returns
    /// v·m + (1 − m)·fill (bilinear) or fill where m &lt; ½ (nearest); without one (null) the outside is 0 and
    /// borders blend towards 0. <see cref="RandomAffine"/> always passes a fill (default 0), as torchvision's.</para>
    /// </remarks>
    public static Tensor Affine(Tensor image, double angle, (double X, double Y) translate, double scale, (double X, double Y) shear,
                                Interpolation interpolation = Interpolation.Nearest, IReadOnlyList<float>? fill = null)
    {
        (int planes, int h, int w) = Check.Image(image, "Affine");
        if (!(scale > 0) || !double.IsFinite(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, $"Affine scale must be positive and finite; got {scale}.");
        }

        if (!double.IsFinite(angle) || !double.IsFinite(translate.X) || !double.IsFinite(translate.Y) || !double.IsFinite(shear.X) || !double.IsFinite(shear.Y))
        {
            throw new ArgumentException($"Affine parameters must be finite; got angle {angle}, translate ({translate.X}, {translate.Y}), shear ({shear.X}, {shear.Y}).");
        }

        float[]? f = Check.Fill(fill, "Affine");
        Check.FillMatches(f, image, "Affine");
        double[] m = InverseAffineMatrix(angle, translate, scale, shear);
        var data = new float[image.Numel];
        AffineSample(image.Data, planes, h, w, Check.Channels(image), m, interpolation, f, data);
        return new Tensor(data, image.Shape);
    }

    /// <summary>
    /// torchvision's <c>_get_inverse_affine_matrix</c> with the centre at the origin: the 2×3 matrix
    /// [a b c; d e f] mapping output offsets from the centre to source offsets from the centre.
    /// </summary>
    internal static double[] InverseAffineMatrix(double angle, (double X, double Y) translate, double scale, (double X, double Y) shear)
    {
        double rot = angle * Math.PI / 180;
        double sx = shear.X * Math.PI / 180;
        double sy = shear.Y * Math.PI / 180;
        double a = Math.Cos(rot - sy) / Math.Cos(sy);
        double b = (-Math.Cos(rot - sy) * Math.Tan(sx) / Math.Cos(sy)) - Math.Sin(rot);
        double c = Math.Sin(rot - sy) / Math.Cos(sy);
        double d = (-Math.Sin(rot - sy) * Math.Tan(sx) / Math.Cos(sy)) + Math.Cos(rot);
        // Inverse of [[a, b], [c, d]] (determinant 1) over the scale, then the inverse translation.
        double[] m = [d / scale, -b / scale, 0, -c / scale, a / scale, 0];
        m[2] = (m[0] * -translate.X) + (m[1] * -translate.Y);
        m[5] = (m[3] * -translate.X) + (m[4] * -translate.Y);
        return m;
    }

    private static void AffineSample(ReadOnlySpan<float> src, int planes, int h, int w, int channels, double[] m,
                                     Interpolation interpolation, float[]? fill, Span<float> dst)
    {
        int plane = h * w;
        double cx = (w - 1) * 0.5;
        double cy = (h - 1) * 0.5;
        (double m0, double m1, double m2, double m3, double m4, double m5) = (m[0], m[1], m[2], m[3], m[4], m[5]);
        bool blend = fill is not null;
        var outside = new float[planes]; // what a pixel reading only outside the image gets, per plane
        for (int p = 0; p < planes; p++)
        {
            outside[p] = Check.FillOf(fill, p, channels);
        }

        for (int y = 0; y < h; y++)
        {
            double oy = y - cy;
            // Source coordinate of (x, y): ix = m0·(x − cx) + m1·(y − cy) + m2 + cx, likewise iy.
            double rowX = (m1 * oy) + m2 + cx;
            double rowY = (m4 * oy) + m5 + cy;
            for (int x = 0; x < w; x++)
            {
                double ox = x - cx;
                double ix = (m0 * ox) + rowX;
                double iy = (m3 * ox) + rowY;
                int o = (y * w) + x;
                if (interpolation == Interpolation.Nearest)
                {
                    double rx = Math.Round(ix, MidpointRounding.ToEven);
                    double ry = Math.Round(iy, MidpointRounding.ToEven);
                    if (rx >= 0 && rx <= w - 1 && ry >= 0 && ry <= h - 1)
                    {
                        int s = ((int)ry * w) + (int)rx;
                        for (int p = 0; p < planes; p++)
                        {
                            dst[(p * plane) + o] = src[(p * plane) + s];
                        }
                    }
                    else
                    {
                        for (int p = 0; p < planes; p++)
                        {
                            dst[(p * plane) + o] = outside[p];
                        }
                    }

                    continue;
                }

                // grid_sample's bilinear: e/w are the horizontal distances, n/s the vertical ones (float, as PyTorch).
                double fx = Math.Floor(ix);
                double fy = Math.Floor(iy);
                if (fx < -1 || fx > w || fy < -1 || fy > h)
                {
                    for (int p = 0; p < planes; p++)
                    {
                        dst[(p * plane) + o] = outside[p];
                    }

                    continue;
                }

                float we = (float)(ix - fx);
                float ea = 1f - we;
                float no = (float)(iy - fy);
                float so = 1f - no;
                int x0 = (int)fx;
                int y0 = (int)fy;
                if ((uint)x0 < (uint)(w - 1) && (uint)y0 < (uint)(h - 1))
                {
                    // All four neighbours inside: the common case, without per-corner checks.
                    float nw = so * ea;
                    float ne = so * we;
                    float sw = no * ea;
                    float se = no * we;
                    float inMask = ((nw + ne) + sw) + se;
                    int i = (y0 * w) + x0;
                    for (int p = 0; p < planes; p++)
                    {
                        int k = (p * plane) + i;
                        float v = (src[k] * nw) + (src[k + 1] * ne) + (src[k + w] * sw) + (src[k + w + 1] * se);
                        dst[(p * plane) + o] = blend ? (v * inMask) + ((1f - inMask) * outside[p]) : v;
                    }

                    continue;
                }

                bool left = (uint)x0 < (uint)w;
                bool right = (uint)(x0 + 1) < (uint)w;
                bool top = (uint)y0 < (uint)h;
                bool bottom = (uint)(y0 + 1) < (uint)h;
                float wnw = left && top ? so * ea : 0f;
                float wne = right && top ? so * we : 0f;
                float wsw = left && bottom ? no * ea : 0f;
                float wse = right && bottom ? no * we : 0f;
                int inw = left && top ? (y0 * w) + x0 : 0;
                int ine = right && top ? (y0 * w) + x0 + 1 : 0;
                int isw = left && bottom ? ((y0 + 1) * w) + x0 : 0;
                int ise = right && bottom ? ((y0 + 1) * w) + x0 + 1 : 0;
                float mask = ((wnw + wne) + wsw) + wse;
                for (int p = 0; p < planes; p++)
                {
                    ReadOnlySpan<float> s = src.Slice(p * plane, plane);
                    float v = (s[inw] * wnw) + (s[ine] * wne) + (s[isw] * wsw) + (s[ise] * wse);
                    dst[(p * plane) + o] = blend ? (v * mask) + ((1f - mask) * outside[p]) : v;
                }
            }
        }
    }
}
