using System.Globalization;
using System.Text.Json;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.MockDriver;

namespace Iommufd.Native;

/// <summary>
/// The emulated machine from a JSON file (named by <c>IOMMUFD_PLATFORM</c>): which SMMUv3 instances exist, with
/// which features and whether a Tegra241 CMDQV sits beside each (hardware or software VCMDQs), or mock IOMMUs
/// (<c>"type": "mock"</c>, the selftest's, which also serve IOMMU_TEST_CMD), and which endpoint devices (StreamID,
/// ATS) sit behind them. Devices become <c>/dev/vfio/devices/vfioN</c> in file order.
/// </summary>
/// <remarks>
/// Every property is checked: an unknown name, a wrong type or a missing required value is an error naming its
/// place in the file (<c>iommus[0].cmdqv.backend</c>). Values the builders check (duplicate names, a device on an
/// unknown IOMMU, feature limits) fail when the machine is built, with the builders' messages. Example:
/// <code>
/// { "iommus": [ { "name": "smmu0", "features": { "sidBits": 8 }, "cmdqv": { "backend": "software" } } ],
///   "devices": [ { "name": "nic", "iommu": "smmu0", "streamId": "0x10", "ats": true, "pasidBits": 8 } ] }
/// </code>
/// </remarks>
internal static class PlatformFile
{
    /// <summary>Reads <paramref name="path"/>; the builder configuration it describes.</summary>
    /// <exception cref="InvalidDataException">The file cannot be read or is not a valid platform.</exception>
    public static Action<IommufdBuilder> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"platform file {path}: {e.Message}", e);
        }

        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return Parse(document.RootElement);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"platform file {path}: not JSON: {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"platform file {path}: {e.Message}", e);
        }
    }

    /// <summary>The configuration a parsed platform document describes.</summary>
    public static Action<IommufdBuilder> Parse(JsonElement root)
    {
        var top = new Reader(root, "the file");
        top.Only("iommus", "devices");
        var steps = new List<Action<IommufdBuilder>>();
        foreach (var iommu in top.Array("iommus", required: true))
        {
            steps.Add(ParseIommu(iommu));
        }

        foreach (var device in top.Array("devices", required: false))
        {
            device.Only("name", "iommu", "streamId", "ats", "pasidBits");
            string name = device.String("name", required: true)!;
            string iommu = device.String("iommu", required: true)!;
            uint sid = (uint)device.Number("streamId", required: true, max: uint.MaxValue)!.Value;
            bool ats = device.Bool("ats") ?? false;
            int pasidBits = (int)(device.Number("pasidBits", max: EndpointDevice.MaxPasidBits) ?? 0); // 0: no PASID capability
            steps.Add(b => b.AddDevice(name, iommu, sid, ats, pasidBits));
        }

        return b => steps.ForEach(s => s(b));
    }

    private static Action<IommufdBuilder> ParseIommu(Reader iommu)
    {
        iommu.Only("name", "type", "executionMode", "features", "cmdqv");
        string name = iommu.String("name", required: true)!;
        if (iommu.Enum("type", IommuType.SmmuV3) == IommuType.Mock)
        {
            // The selftest's mock IOMMU (drivers/iommu/iommufd/selftest.c): it answers IOMMU_TEST_CMD too.
            iommu.Only("name", "type");
            return b => b.AddMockIommu(name);
        }

        var mode = iommu.Enum("executionMode", ExecutionMode.Inline);
        var features = new SmmuV3Features();
        if (iommu.Object("features") is { } f)
        {
            f.Only("ats", "rangeInvalidation", "stage1", "stage2", "sidBits", "ssidBits", "cmdqLog2Size", "eventqLog2Size");
            features = features with
            {
                Ats = f.Bool("ats") ?? features.Ats,
                RangeInvalidation = f.Bool("rangeInvalidation") ?? features.RangeInvalidation,
                Stage1 = f.Bool("stage1") ?? features.Stage1,
                Stage2 = f.Bool("stage2") ?? features.Stage2,
                SidBits = (int?)f.Number("sidBits", max: 32) ?? features.SidBits,
                SsidBits = (int?)f.Number("ssidBits", max: 20) ?? features.SsidBits,
                CmdqLog2Size = (int?)f.Number("cmdqLog2Size", max: 19) ?? features.CmdqLog2Size,
                EventqLog2Size = (int?)f.Number("eventqLog2Size", max: 19) ?? features.EventqLog2Size,
            };
        }

        Action<IommufdBuilder> step = b => b.AddArmSmmuV3(name, o =>
        {
            o.Features = features;
            o.ExecutionMode = mode;
        });
        if (iommu.Object("cmdqv") is not { } c)
        {
            return step;
        }

        c.Only("backend", "hostFixup", "vintfLog2", "vcmdqLog2", "sidPerVintfLog2");
        var backend = c.Enum("backend", VcmdqBackend.Hardware);
        bool fixup = c.Bool("hostFixup") ?? true;
        var defaults = new Cmdqv.Hardware.CmdqvFeatures();
        var cmdqv = defaults with
        {
            VintfLog2 = (int?)c.Number("vintfLog2", max: 6) ?? defaults.VintfLog2,
            VcmdqLog2 = (int?)c.Number("vcmdqLog2", max: 7) ?? defaults.VcmdqLog2,
            SidPerVintfLog2 = (int?)c.Number("sidPerVintfLog2", max: 8) ?? defaults.SidPerVintfLog2,
        };
        return b =>
        {
            step(b);
            b.AddTegra241Cmdqv(name, o =>
            {
                o.Backend = backend;
                o.HardwarePresent = backend != VcmdqBackend.Software; // software: a machine without CMDQV hardware
                o.HostFixup = fixup;
                o.Features = cmdqv;
            });
        };
    }

    /// <summary>The kinds of IOMMU a platform file names (<c>"type"</c>; SMMUv3 when absent).</summary>
    private enum IommuType
    {
        SmmuV3,
        Mock,
    }

    /// <summary>One JSON object and its place in the file, for error messages.</summary>
    private readonly struct Reader(JsonElement element, string where)
    {
        public void Only(params string[] names)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{where} must be an object");
            }

            foreach (var p in element.EnumerateObject())
            {
                if (System.Array.IndexOf(names, p.Name) < 0)
                {
                    throw new InvalidDataException($"unknown property '{p.Name}' in {where} (known: {string.Join(", ", names)})");
                }
            }
        }

        public IEnumerable<Reader> Array(string name, bool required)
        {
            if (!TryGet(name, required, out var value))
            {
                return [];
            }

            if (value.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"{Place(name)} must be an array");
            }

            string place = Place(name);
            return [.. value.EnumerateArray().Select((e, i) => new Reader(e, $"{place}[{i}]"))];
        }

        public Reader? Object(string name) =>
            TryGet(name, required: false, out var value) && value.ValueKind != JsonValueKind.Null ? new Reader(value, Place(name)) : null;

        public string? String(string name, bool required = false)
        {
            if (!TryGet(name, required, out var value))
            {
                return null;
            }

            return value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s
                ? s
                : throw new InvalidDataException($"{Place(name)} must be a non-empty string");
        }

        public bool? Bool(string name)
        {
            if (!TryGet(name, required: false, out var value))
            {
                return null;
            }

            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new InvalidDataException($"{Place(name)} must be true or false"),
            };
        }

        /// <summary>A number in [0, <paramref name="max"/>], written as a JSON number or a "0x…" string.</summary>
        public ulong? Number(string name, ulong max, bool required = false)
        {
            if (!TryGet(name, required, out var value))
            {
                return null;
            }

            ulong n = 0;
            bool ok = value.ValueKind switch
            {
                JsonValueKind.Number => value.TryGetUInt64(out n),
                JsonValueKind.String when value.GetString() is { } s && s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) =>
                    ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out n),
                _ => false,
            };
            return ok && n <= max ? n : throw new InvalidDataException($"{Place(name)} must be a number from 0 to {max} (decimal, or a \"0x…\" string)");
        }

        public T Enum<T>(string name, T fallback)
            where T : struct, Enum
        {
            if (String(name) is not { } s)
            {
                return fallback;
            }

            return System.Enum.TryParse<T>(s, ignoreCase: true, out var v) && System.Enum.IsDefined(v)
                ? v
                : throw new InvalidDataException($"{Place(name)} must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");
        }

        private bool TryGet(string name, bool required, out JsonElement value)
        {
            if (element.TryGetProperty(name, out value))
            {
                return true;
            }

            return required ? throw new InvalidDataException($"{Place(name)} is required") : false;
        }

        private string Place(string name) => where == "the file" ? name : $"{where}.{name}";
    }
}
