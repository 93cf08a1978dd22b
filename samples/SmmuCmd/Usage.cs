namespace SmmuCmd;

/// <summary>The help text of the tool and of each subcommand.</summary>
internal static class Usage
{
    public const string Main = """
        smmucmd: decode, encode and check SMMUv3 command-queue entries.

        Usage:
          smmucmd decode [FILE|-] [--binary]
          smmucmd encode [FILE|-] [--binary -o FILE] [-o FILE]
          smmucmd check  [FILE|-] [--binary|--commands] [--queue smmu|trap|vcmdq] [--features LIST] [-v]
          smmucmd COMMAND --help

        An entry is 16 bytes: w0 = bits [63:0] and w1 = bits [127:64], little-endian in memory.
        FILE '-' or no FILE reads standard input.

        Exit codes: 0 success (check: every entry accepted), 1 check refused an entry, 2 usage or input error.

        """;

    public const string Decode = """
        Usage: smmucmd decode [FILE|-] [--binary]

        Prints each entry as one line, 'INDEX: MNEMONIC key=value ...', in the emulator's decoder form
        (the form 'smmucmd encode' reads back).

        Input, by default hex text:
          - tokens separated by spaces or newlines, each with an optional 0x;
          - a token of up to 16 hex digits is one word; words pair up as w0 then w1;
          - a token of 32 hex digits is a whole entry as a 128-bit number, bits [127:0] (so w1 comes first);
          - '#' starts a comment that runs to the end of the line.

        Options:
          -b, --binary   read raw 16-byte little-endian entries instead
          -h, --help     show this help

        Example:
          echo '0x002a000100000012 0x0000000040001701' | smmucmd decode
          0: TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1

        """;

    public const string Encode = """
        Usage: smmucmd encode [FILE|-] [--binary -o FILE] [-o FILE]

        Reads one command per line in the decoder's text form and prints each entry as '0x<w0> 0x<w1>'.
        Keys may come in any order or case, missing keys are 0, numbers are decimal or 0x hex, and a leading
        'INDEX:' as 'smmucmd decode' prints it is ignored. Blank lines and '#' comments are skipped.
        Raw opcodes are written RESERVED(0x5f) w0=... w1=... or IMPDEF(0x85) w0=... w1=....

        Options:
          -o, --output FILE   write to FILE instead of standard output ('-' for standard output)
          -b, --binary        write raw 16-byte little-endian entries; needs -o
          -h, --help          show this help

        Example:
          echo 'TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1' | smmucmd encode
          0x002a000100000012 0x0000000040001701

        A line that does not parse stops the run with exit code 2, naming the line and the reason;
        nothing is written.

        """;

    public const string Check = """
        Usage: smmucmd check [FILE|-] [--binary|--commands] [--queue smmu|trap|vcmdq] [--features LIST] [-v]

        Checks each entry against one queue's rules and says why each refused entry is refused,
        then prints a one-line summary.

        Queues:
          smmu    the emulated SMMUv3's command queue: what it answers with CERROR_ILL (default)
          trap    the host's IOMMU_HWPT_INVALIDATE path for a vIOMMU: what it refuses with EIO. It forwards
                  only TLBI_NH_ALL, TLBI_NH_ASID, TLBI_NH_VA, TLBI_NH_VAA, TLBI_NSNH_ALL, ATC_INV, CFGI_CD
                  and CFGI_CD_ALL, so CMD_SYNC, CFGI_STE and the rest are refused. vSIDs are not looked up.
          vcmdq   a guest-owned Tegra241 VCMDQ: only TLBI_NH_ASID, TLBI_NH_VA, ATC_INV and CMD_SYNC, which
                  must also be legal on the SMMU. A note says which refused ones the host fix-up would run
                  (TLBI_NH_ALL, TLBI_NH_VAA, TLBI_NSNH_ALL, CFGI_CD, CFGI_CD_ALL). SID pairs are not checked.

        Input: hex text as for 'smmucmd decode', or
          -b, --binary        raw 16-byte little-endian entries
          --commands          the decoder's text form, as for 'smmucmd encode'

        Options:
          -q, --queue KIND    smmu, trap or vcmdq
          -f, --features LIST the SMMU's features, changed from the defaults (stage 1 and 2, ATS, range
                              invalidation, 20-bit SSIDs; no PRI, HYP, DS, MPAM or stalls). Comma-separated:
                              s1, s2, ats, pri, ril, hyp, ds, mpam, stall, each also as no-NAME, and ssid-bits=N.
                              May be given more than once.
          -v, --verbose       print accepted entries too
          -h, --help          show this help

        Exit codes: 0 every entry accepted, 1 some entry refused, 2 usage or input error.

        """;
}
