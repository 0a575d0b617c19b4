"""Where the batch-1 inference time of Lite-HRNet-18 (256x192) goes on this CPU: torch.profiler's
operator table for MMPose's LiteHRNet and for ours in the deploy form (BatchNorm folded).

    python benchmarks/profile_cpu.py [--runs 20] [--rows 12]
"""
import argparse

import torch
from torch.profiler import profile


def table(model, runs, rows):
    x = torch.randn(1, 3, 256, 192)
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        with profile() as prof:
            for _ in range(runs):
                model(x)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print('| op | calls per forward | self CPU ms per forward | share |')
    print('| --- | --- | --- | --- |')
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:rows]:
        print(f'| {e.key} | {e.count / runs:.0f} | {e.self_cpu_time_total / runs / 1e3:.2f} | '
              f'{100 * e.self_cpu_time_total / total:.0f} % |')
    print(f'| all ops | {sum(e.count for e in events) / runs:.0f} | {total / runs / 1e3:.2f} | '
          f'100 % |\n')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--rows', type=int, default=12)
    args = parser.parse_args(argv)
    from mmpose.models.backbones import LiteHRNet as MMPoseLiteHRNet

    from litehrnet_mm.models import LiteHRNet
    from litehrnet_mm.models.backbones import arch_to_extra
    ref = MMPoseLiteHRNet(arch_to_extra('18'))
    ref.eval()
    ours = LiteHRNet(arch='18')
    ours.load_state_dict(ref.state_dict())
    ours.eval()
    ours.switch_to_deploy()
    print("MMPose's LiteHRNet-18, eager:\n")
    table(ref, args.runs, args.rows)
    print('ours, deploy form, eager:\n')
    table(ours, args.runs, args.rows)


if __name__ == '__main__':
    main()
