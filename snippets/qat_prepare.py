"""A Conv-BN-ReLU model made ready for quantization-aware training (eager mode).

Run it: python snippets/qat_prepare.py
"""

import copy
import warnings

import torch
import torch.ao.quantization as tq

# prepare_qat and convert warn: torch.ao.quantization is deprecated (quoted below)
warnings.filterwarnings("ignore", message="torch.ao.quantization is deprecated")
# convert warns: quantized tensor creation functions are deprecated
warnings.filterwarnings("ignore", message="torch.quantize_per_tensor, torch.quan")

ENGINE = "onednn"  # the qconfig and the int8 kernels of one backend


def float_model():
    """QuantStub, Conv2d, BatchNorm2d, ReLU, DeQuantStub: float until convert."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        tq.QuantStub(), torch.nn.Conv2d(3, 8, kernel_size=3),
        torch.nn.BatchNorm2d(8), torch.nn.ReLU(), tq.DeQuantStub(),
    )


def prepare(model):
    """A QAT copy of a float model in training mode: Conv-BN-ReLU fused."""
    qat = copy.deepcopy(model).train()  # prepare_qat needs training mode
    qat.qconfig = tq.get_default_qat_qconfig(ENGINE)
    fused = tq.fuse_modules_qat(qat, [["1", "2", "3"]])
    assert type(fused[1]) is torch.ao.nn.intrinsic.ConvBnReLU2d
    return tq.prepare_qat(fused)


if __name__ == "__main__":
    assert ENGINE in torch.backends.quantized.supported_engines
    torch.backends.quantized.engine = ENGINE
    caught = {}
    for step in "prepare_qat", "convert":
        with warnings.catch_warnings(record=True) as caught[step]:
            warnings.simplefilter("always")  # show what the filters above hide
            if step == "prepare_qat":
                qat = prepare(float_model())
            else:  # after one batch, so that the observers have seen data
                qat(torch.randn(4, 3, 8, 8))
                tq.convert(copy.deepcopy(qat).eval())
    message = str(caught["prepare_qat"][0].message)
    first = "torch.ao.quantization is deprecated and will be removed in 2.10."
    assert message.startswith(first) and "torchao" in message
    for step, warned in caught.items():
        kinds = {(w.category, str(w.message)[:30]) for w in warned}
        assert (DeprecationWarning, message[:30]) in kinds, step
    created = "torch.quantize_per_tensor, torch.quantize_per_channel and other"
    assert any(str(w.message).startswith(created) for w in caught["convert"])
    print("prepare_qat and convert warn:", message.splitlines()[0].strip())
    eager = message.splitlines()[2].split("), ")[-1].strip()
    assert eager == "please migrate to use torchao eager mode quantize_ API instead"
    print("eager mode:", eager)
    print("still present in torch", torch.__version__.split("+")[0])
    block = qat[1]
    print(type(block).__module__ + "." + type(block).__name__)
    print("its batch norm:", type(block.bn).__name__, "| weight fake quant:",
          type(block.weight_fake_quant).__name__)
