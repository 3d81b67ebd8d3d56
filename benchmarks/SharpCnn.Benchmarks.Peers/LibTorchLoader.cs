using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace SharpCnn.Benchmarks.Peers;

/// <summary>
/// Makes TorchSharp's native glue, <c>libLibTorchSharp.so</c>, loadable where the system libstdc++ is older than
/// the one it was linked against. TorchSharp 0.107.0's build asks for <c>GLIBCXX_3.4.32</c> (GCC 13) while Debian 12
/// ships 3.4.30; the only symbol of that version it uses is <c>std::ios_base_library_init()</c>, which it
/// references without a relocation, so nothing is ever bound to it.
/// </summary>
/// <remarks>
/// The fix touches nothing outside this program's build folder: if loading the shipped file fails, a copy
/// (<c>libLibTorchSharp.relaxed.so</c>, next to the original so its <c>$ORIGIN</c> run path still finds
/// libtorch) gets every version it needs from libstdc++ that the system's libstdc++ does not define marked
/// <c>VER_FLG_WEAK</c> in its <c>.gnu.version_r</c> section. glibc then skips the check for those versions instead
/// of refusing the library. The copy is loaded first, and TorchSharp's P/Invokes are pointed at it with
/// <see cref="NativeLibrary.SetDllImportResolver"/>; TorchSharp's own by-name load then finds it by its soname.
/// </remarks>
internal static class LibTorchLoader
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const ushort VerFlgWeak = 0x2;

    private static readonly Lock s_lock = new();
    private static readonly string[] s_libStdCxxPaths = ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/libstdc++.so.6"];
    private static bool s_done;
    private static string? s_error;

    /// <summary>How the library was loaded (for the report).</summary>
    public static string Status { get; private set; } = "not loaded";

    /// <summary>Loads the native library once; returns null on success or why it cannot be loaded.</summary>
    public static string? EnsureLoaded()
    {
        lock (s_lock)
        {
            if (!s_done)
            {
                s_error = Load();
                s_done = true;
            }

            return s_error;
        }
    }

    private static string? Load()
    {
        string? original = new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") }
            .Select(d => Path.Combine(d, "libLibTorchSharp.so")).FirstOrDefault(File.Exists);
        if (original is null)
        {
            return $"libLibTorchSharp.so not found next to {AppContext.BaseDirectory} (is the libtorch-cpu-linux-x64 package restored?)";
        }

        string firstError;
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(original));
            Status = "shipped libLibTorchSharp.so loads as is";
            return null;
        }
        catch (DllNotFoundException e)
        {
            firstError = e.Message;
        }

        string? libstdcxx = LoadedLibStdCxx();
        if (libstdcxx is null || !firstError.Contains("GLIBCXX_", StringComparison.Ordinal))
        {
            return $"cannot load {original}: {firstError}";
        }

        byte[] image = File.ReadAllBytes(original);
        HashSet<string> defined = VersionDefinitions(File.ReadAllBytes(libstdcxx));
        List<string> relaxed = RelaxMissingNeeds(image, "libstdc++.so.6", defined);
        string copy = Path.Combine(Path.GetDirectoryName(original)!, "libLibTorchSharp.relaxed.so");
        if (!File.Exists(copy) || !File.ReadAllBytes(copy).AsSpan().SequenceEqual(image))
        {
            string temp = copy + $".{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temp, image);
            File.Move(temp, copy, overwrite: true);
        }

        IntPtr handle;
        try
        {
            handle = NativeLibrary.Load(copy);
        }
        catch (DllNotFoundException e)
        {
            return $"cannot load {original} ({firstError}) nor the relaxed copy: {e.Message}";
        }

        NativeLibrary.SetDllImportResolver(typeof(torch).Assembly, (name, _, _) =>
            name is "LibTorchSharp" or "libLibTorchSharp" or "libLibTorchSharp.so" ? handle : IntPtr.Zero);
        Status = $"libLibTorchSharp.so needs {string.Join(", ", relaxed)} which {libstdcxx} lacks: loaded a copy with that need relaxed (weak)";
        return null;
    }

    /// <summary>The libstdc++ this process already maps (the .NET host links it), else the usual Debian path.</summary>
    private static string? LoadedLibStdCxx()
    {
        string? mapped = File.ReadLines("/proc/self/maps")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[5].Contains("/libstdc++.so", StringComparison.Ordinal))
            .Select(f => f[5]).FirstOrDefault();
        return mapped ?? s_libStdCxxPaths.FirstOrDefault(File.Exists);
    }

    /// <summary>Marks weak every version that <paramref name="image"/> needs from <paramref name="file"/> and that is not in <paramref name="defined"/>.</summary>
    private static List<string> RelaxMissingNeeds(byte[] image, string file, HashSet<string> defined)
    {
        var relaxed = new List<string>();
        foreach ((ulong offset, ulong _, uint link) in Sections(image, ShtGnuVerneed))
        {
            int vn = (int)offset;
            while (true)
            {
                // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
                int count = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(vn + 2));
                string needFile = String(image, link, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(vn + 4)));
                int aux = vn + (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(vn + 8));
                for (int i = 0; i < count; i++)
                {
                    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
                    string name = String(image, link, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(aux + 8)));
                    if (needFile == file && !defined.Contains(name))
                    {
                        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(aux + 4));
                        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(aux + 4), (ushort)(flags | VerFlgWeak));
                        relaxed.Add(name);
                    }

                    aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(aux + 12));
                }

                uint next = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(vn + 12));
                if (next == 0)
                {
                    break;
                }

                vn += (int)next;
            }
        }

        return relaxed;
    }

    /// <summary>The version names a shared library defines (its <c>.gnu.version_d</c>).</summary>
    private static HashSet<string> VersionDefinitions(byte[] image)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach ((ulong offset, ulong _, uint link) in Sections(image, ShtGnuVerdef))
        {
            int vd = (int)offset;
            while (true)
            {
                // Elf64_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32, vd_next u32;
                // the first Verdaux (vda_name u32, vda_next u32) names the version.
                int aux = vd + (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(vd + 12));
                names.Add(String(image, link, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(aux))));
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(vd + 16));
                if (next == 0)
                {
                    break;
                }

                vd += (int)next;
            }
        }

        return names;
    }

    /// <summary>(offset, size, sh_link) of every section of <paramref name="type"/> in a little-endian ELF64 image.</summary>
    private static List<(ulong Offset, ulong Size, uint Link)> Sections(byte[] image, uint type)
    {
        if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F' || image[4] != 2 || image[5] != 1)
        {
            throw new InvalidDataException("not a little-endian ELF64 file");
        }

        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(0x28));
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x3A));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x3C));
        var result = new List<(ulong, ulong, uint)>();
        for (int i = 0; i < shnum; i++)
        {
            ReadOnlySpan<byte> sh = image.AsSpan((int)shoff + (i * shentsize), shentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) == type)
            {
                result.Add((BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]), BinaryPrimitives.ReadUInt64LittleEndian(sh[0x20..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..])));
            }
        }

        return result;
    }

    /// <summary>The NUL-terminated string at <paramref name="index"/> in the string-table section <paramref name="section"/>.</summary>
    private static string String(byte[] image, uint section, uint index)
    {
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(0x28));
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x3A));
        ulong tableOffset = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan((int)shoff + ((int)section * shentsize) + 0x18));
        int start = (int)(tableOffset + index);
        int end = Array.IndexOf(image, (byte)0, start);
        return Encoding.ASCII.GetString(image, start, end - start);
    }
}
