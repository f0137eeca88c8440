"""``resnet18`` and ``mobilenet_v2``: torchvision's models as one-candidate spaces (no genes).

Written from torchvision's definitions (torchvision/models/resnet.py, mobilenetv2.py) at
224x224 with 1000 classes: every conv without bias and followed by BatchNorm2d, the classifier
Linear with bias (MobileNetV2's Dropout costs nothing and is left out). torchvision's weight
tables publish 11,689,512 parameters and 1.814 GMACs ('GFLOPS' 1.81) for resnet18, and
3,504,872 parameters and 0.301 GMACs ('GFLOPS' 0.30) for mobilenet_v2. Layer names follow
torchvision's module names with '_' for '.'.
"""

from __future__ import annotations

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.spaces._common import make_divisible

RESOLUTION = 224
NUM_CLASSES = 1000


def resnet18() -> Space:
    b = SpaceBuilder("resnet18", description="torchvision resnet18 (224x224, 1000 classes)")
    b.input(channels=3, height=RESOLUTION, width=RESOLUTION)
    b.conv2d("conv1", out_channels=64, kernel=7, stride=2, padding=3, bias=False)
    b.batchnorm2d("bn1")
    b.op("relu", "relu")
    b.maxpool2d("maxpool", kernel=3, stride=2, padding=1)
    inplanes = 64
    for li, (planes, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
        for k in range(2):  # BasicBlock x 2
            p = f"layer{li}_{k}"
            s = stride if k == 0 else 1
            with b.block(p) as blk:
                b.conv2d(f"{p}_conv1", out_channels=planes, kernel=3, stride=s, padding=1,
                         bias=False)
                b.batchnorm2d(f"{p}_bn1")
                b.op("relu", f"{p}_relu1")
                b.conv2d(f"{p}_conv2", out_channels=planes, kernel=3, padding=1, bias=False)
                out = b.batchnorm2d(f"{p}_bn2")
                identity = blk.input
                if k == 0 and (s != 1 or inplanes != planes):
                    b.conv2d(f"{p}_downsample_0", out_channels=planes, kernel=1, stride=s,
                             bias=False, input=blk.input)
                    identity = b.batchnorm2d(f"{p}_downsample_1")
                b.op("add", f"{p}_add", input=[out, identity])
                b.op("relu", f"{p}_relu2")
            inplanes = planes
    b.op("global_avgpool", "avgpool")
    b.op("flatten", "flatten")
    b.linear("fc", out_features=NUM_CLASSES)
    return b.build()


# t (expand ratio), c (channels), n (blocks), s (stride of the first block)
MOBILENET_V2_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def mobilenet_v2() -> Space:
    b = SpaceBuilder("mobilenet_v2",
                     description="torchvision mobilenet_v2 (width 1.0, 224x224, 1000 classes)")
    b.input(channels=3, height=RESOLUTION, width=RESOLUTION)
    width_mult = 1.0
    inp = make_divisible(32 * width_mult, 8)
    last = make_divisible(1280 * max(1.0, width_mult), 8)
    b.conv2d("features_0_0", out_channels=inp, kernel=3, stride=2, padding=1, bias=False)
    b.batchnorm2d("features_0_1")
    b.op("relu6", "features_0_2")
    idx = 1
    for t, c, n, s in MOBILENET_V2_SETTING:
        oup = make_divisible(c * width_mult, 8)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = int(round(inp * t))
            p = f"features_{idx}"
            with b.block(p) as blk:
                if t != 1:
                    b.conv2d(f"{p}_pw", out_channels=hidden, kernel=1, bias=False)
                    b.batchnorm2d(f"{p}_pw_bn")
                    b.op("relu6", f"{p}_pw_act")
                b.conv2d(f"{p}_dw", out_channels=hidden, kernel=3, stride=stride, padding=1,
                         groups=hidden, bias=False)
                b.batchnorm2d(f"{p}_dw_bn")
                b.op("relu6", f"{p}_dw_act")
                b.conv2d(f"{p}_pwl", out_channels=oup, kernel=1, bias=False)
                out = b.batchnorm2d(f"{p}_pwl_bn")
                if stride == 1 and inp == oup:
                    b.op("add", f"{p}_add", input=[blk.input, out])
            inp = oup
            idx += 1
    b.conv2d(f"features_{idx}_0", out_channels=last, kernel=1, bias=False)
    b.batchnorm2d(f"features_{idx}_1")
    b.op("relu6", f"features_{idx}_2")
    b.op("global_avgpool", "avgpool")
    b.op("flatten", "flatten")
    b.linear("classifier_1", out_features=NUM_CLASSES)
    return b.build()


SPACES = {"resnet18": resnet18, "mobilenet_v2": mobilenet_v2}
