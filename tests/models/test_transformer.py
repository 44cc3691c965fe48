import pytest
import torch
import torch.nn.functional as F

from nct.models.transformer import IGNORE, lm_loss


def _reference(logits, targets, z_loss):
    keep = targets != IGNORE
    ce = F.cross_entropy(logits, targets, ignore_index=IGNORE)
    return ce + z_loss * torch.logsumexp(logits[keep], -1).pow(2).mean(), ce


@pytest.mark.parametrize("z_loss", [0.0, 0.1])
def test_lm_loss_and_its_gradient_match_cross_entropy_plus_z_loss(z_loss):
    torch.manual_seed(0)
    logits = torch.randn(6, 11, requires_grad=True)
    targets = torch.tensor([1, IGNORE, 3, 4, 0, 10])
    loss, ce = lm_loss(logits, targets, z_loss)
    ref_loss, ref_ce = _reference(logits, targets, z_loss)
    assert torch.allclose(loss, ref_loss) and torch.allclose(ce, ref_ce)
    (grad,) = torch.autograd.grad(loss, logits)
    (ref_grad,) = torch.autograd.grad(ref_loss, logits)
    assert torch.allclose(grad, ref_grad, atol=1e-6)
    assert not grad[1].any()  # padding positions get no gradient
