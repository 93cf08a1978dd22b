using System.Numerics;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Driver;

// Global errors (spec §6.3.19 SMMU_GERROR, §6.3.20 SMMU_GERRORN): an error is active while GERROR and GERRORN differ
// in its bit, and software acknowledges it by toggling that bit of GERRORN. A toggle is a read-modify-write of the
// whole register, so two writers at once can lose one another's toggle: a lost CMDQ_ERR acknowledge is handled again,
// but any other lost one leaves its error active for good (the SMMU raises an error only while it is inactive). In
// arm-smmu-v3.c only arm_smmu_gerror_handler() writes GERRORN, once for everything active (arm_smmu_cmdq_skip_err()
// fixes the queue on the way). Here the issuers fix the queue and acknowledge CMDQ_ERR themselves (HostCommandQueue)
// and the interrupt acknowledges the rest, so both go through AcknowledgeGlobalErrors: one writer of GERRORN at a time.
//
// The writer writes outside the lock. Acknowledging CMDQ_ERR restarts the command queue on the writing thread, and
// its commands can raise errors, so OnInterrupt can run while the writer is at work, re-entered on the writer's own
// thread among others. So a request that finds a writer at work leaves its bits pending for that writer, which writes
// again until nothing is pending; only the CMDQ_ERR acknowledge waits for its turn, so that an issuer's fix-up and its
// acknowledge are one step (acknowledged late, the same error would be fixed and recorded twice) and the queue only
// ever restarts on an issuer's thread. The writer it waits for cannot be running commands: CMDQ_ERR is active until
// this acknowledge, so no other GERRORN write restarts the queue (spec §7.1).
internal sealed partial class SmmuV3Host
{
    private const int GlobalErrorBits = 11; // GERROR[10:0] (GlobalError)
    private const GlobalError AllGlobalErrors = (GlobalError)((1u << GlobalErrorBits) - 1);

    private readonly Lock _gerrornLock = new(); // guards _gerrornPending and _gerrornWriter: who writes GERRORN next and what it toggles
    private uint _gerrornPending; // acknowledges asked for and not yet written
    private int _gerrornWriter; // managed thread id of the thread writing GERRORN, 0 when none
    private readonly long[] _acknowledged = new long[GlobalErrorBits];

    /// <summary>
    /// A test seam, called by the writer between reading GERRORN and writing it: a race test yields the core there, as
    /// a preempted CPU would, so that the other acknowledging thread runs inside the read-modify-write.
    /// </summary>
    internal Action? GerrornWriteWindow { get; set; }

    /// <summary>How many times the driver acknowledged global error <paramref name="error"/> (one bit) through GERRORN.</summary>
    internal long Acknowledgements(GlobalError error) =>
        Interlocked.Read(ref _acknowledged[BitOperations.TrailingZeroCount((uint)error)]);

    /// <summary>
    /// Acknowledges the active errors among <paramref name="errors"/>: toggles their GERRORN bits, one writer at a time
    /// (see above). With <paramref name="waitForTurn"/> the call returns once they are written; without it, it may leave
    /// them to the writer at work (an interrupt handler, which does not wait: the writer's own queue restart may be
    /// what raised its error).
    /// </summary>
    private void AcknowledgeGlobalErrors(GlobalError errors, bool waitForTurn)
    {
        int self = Environment.CurrentManagedThreadId;
        var spin = default(SpinWait);
        while (true)
        {
            lock (_gerrornLock)
            {
                if (_gerrornWriter == 0)
                {
                    _gerrornWriter = self;
                    _gerrornPending |= (uint)errors;
                    break;
                }

                if (!waitForTurn || _gerrornWriter == self)
                {
                    _gerrornPending |= (uint)errors; // the writer at work (or this thread's outer call, re-entered by its own write) writes it
                    return;
                }
            }

            spin.SpinOnce();
        }

        while (true)
        {
            uint value, toggle;
            lock (_gerrornLock)
            {
                // Only errors still active are toggled: toggling an inactive one would make it active again.
                toggle = _gerrornPending & (Hardware.Gerror ^ Hardware.Gerrorn);
                _gerrornPending = 0;
                if (toggle == 0)
                {
                    _gerrornWriter = 0;
                    return;
                }

                value = Hardware.Gerrorn ^ toggle; // nobody else writes GERRORN until this thread lets go
            }

            for (uint bits = toggle; bits != 0; bits &= bits - 1)
            {
                int bit = BitOperations.TrailingZeroCount(bits);
                Interlocked.Increment(ref _acknowledged[bit]);
                if (bit != 0)
                {
                    Log.GlobalError(_logger, Name, (GlobalError)(1u << bit)); // as arm_smmu_gerror_handler() reports each
                }
            }

            GerrornWriteWindow?.Invoke();
            Hardware.WriteRegister((uint)SmmuRegister.GERRORN, value);
        }
    }
}
