"""Offline trajectory-conditioned hypernetwork, trained by AWR (after the hypernetworks of
Beck et al., "Hypernetworks in Meta-Reinforcement Learning", CoRL 2023, but NOT meta-RL).

What it is: amortised, advantage-weighted behaviour cloning conditioned on one trajectory of the
task. It is trained offline on the zoo's near-expert trajectories to emit a policy that imitates
another trajectory of the same task, weighted by advantages of the dense reward; it never
interacts with an environment and never improves on the zoo's behaviour by RL. Beck et al.
train the same kind of network (trajectory encoder -> hypernetwork -> policy weights) online
with meta-RL; the Make-An-Agent paper trains its hypernetwork baseline "on the dataset", as here.

Inputs (what it reads from a condition trajectory): states, actions and, by default, the dense
rewards (`context_rewards`); `hypernet[context_rewards=false]` reads states and actions only,
what Make-An-Agent's embedding reads. Either way it never reads success flags or the task name.

A GRU reads a condition trajectory's first `context_steps` steps of (state, action[, scaled
dense reward]) and its last hidden state becomes a task embedding z (`latent`). A hypernetwork
z -> 256 -> ReLU -> n_params emits the flat parameters of the policy family, so every proposal
is a ParameterProposal evaluated exactly like generated parameters.

Bias-hyperinitialisation (the paper's "bias-HyperInit"): the weights of the hypernetwork's
last layer start at zero and its bias at the flat parameters of a freshly initialised family
network (torch's default nn.Linear init), so at step 0 every emitted policy is that standard
init and training moves the emitted weights away from it.

Training objective: advantage-weighted regression (AWR, Peng et al. 2019) with the emitted
policy, on the zoo's trajectories and their dense rewards. Per step, B context trajectories i
are drawn; for each a target trajectory j of the same task; z_i emits theta_i; the loss is
    w * [ |tanh(mean_theta_i(s)) - a|^2 + log_std_weight * NLL(atanh(a) | mean, std) ]
over (s, a) of trajectory j, with w = min(exp(A / awr_beta), awr_max_weight) and
A = G - V(s, z) where G is the discounted return-to-go of the scaled dense reward and V a
value head trained by regression on G. Context and target differ, so the encoder must infer
the task from one trajectory and emit a policy for the task, not replay the trajectory.

Adaptation: none beyond encoding. One policy per condition trajectory (the count Make-An-Agent
proposes): K = n for a cell of n trajectories; `seed` is unused (the proposal is deterministic).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from baselines.common import check_policy_set, gaussian_nll, pre_tanh, seeded
from benchmark.api import STATE_META, Method, ParameterProposal, config_from_dict, config_to_dict
from benchmark.policy import LOG_STD_MAX, LOG_STD_MIN, GaussianActor, PolicySpec
from benchmark.zoo.format import PolicySet, Zoo

REDUCTIONS: dict[str, str] = {
    "paper": ("offline, not meta-RL: Beck et al. train online with meta-RL on task distributions; here (as in the "
              "Make-An-Agent paper) it is trained on the zoo's stored trajectories by advantage-weighted "
              "regression on the dense reward, 50k steps, 100-step context; no online finetuning"),
    "mini": "1.2k steps (50k), the first 60 steps as context (100; Make-An-Agent's embedding also reads 60)",
    "smoke": "a few steps: plumbing only",
}


@dataclass
class Config:
    """Hyperparameters of the hypernetwork baseline."""

    context_steps: int = 100
    """Steps of a condition trajectory the GRU reads (from its start; shorter ones stop early)."""
    encoder_hidden: int = 128
    """GRU hidden size."""
    latent: int = 64
    """Size of the task embedding z that drives the hypernetwork."""
    hyper_hidden: int = 256
    """Hidden width of the hypernetwork z -> hyper_hidden -> n_params."""
    reward_scale: float = 0.1
    """MetaWorld's dense reward (0..10 per step) is multiplied by this in inputs and returns."""
    gamma: float = 0.99
    """Discount of the return-to-go G used for advantages."""
    awr_beta: float = 1.0
    """AWR temperature: weight exp(A / awr_beta)."""
    awr_max_weight: float = 20.0
    """Upper clip of the AWR weight."""
    log_std_weight: float = 0.01
    """Weight of the log_std head's Gaussian likelihood term beside the action MSE."""
    steps: int = 50_000
    """Training steps."""
    batch_contexts: int = 32
    """Context trajectories (emitted policies) per step."""
    batch_states: int = 64
    """Target (state, action) pairs per emitted policy and step."""
    lr: float = 3e-4
    """Adam learning rate."""
    context_rewards: bool = True
    """The encoder reads the trajectories' dense rewards beside states and actions; false: states and
    actions only (what Make-An-Agent sees)."""
    device: str = "cpu"
    """Torch device for training and encoding."""


PRESETS = {
    "paper": {},
    "mini": {"steps": 1_200, "context_steps": 60},
    "smoke": {"steps": 8, "batch_contexts": 4, "batch_states": 16, "context_steps": 20},
}


def discounted_returns(rewards: np.ndarray, lengths: np.ndarray, gamma: float) -> np.ndarray:
    """(N, T) return-to-go sum_{u >= t} gamma^(u-t) r_u over each trajectory's valid steps."""
    returns = np.zeros_like(rewards, dtype=np.float32)
    running = np.zeros(len(rewards), np.float32)
    valid = np.arange(rewards.shape[1])[None, :] < lengths[:, None]
    for t in reversed(range(rewards.shape[1])):
        running = np.where(valid[:, t], rewards[:, t] + gamma * running, 0.0)
        returns[:, t] = running
    return returns


def batched_forward(theta: torch.Tensor, obs: torch.Tensor, spec: PolicySpec):
    """(mean, log_std), each (B, M, act), of B family policies theta (B, n_params) on obs (B, M, obs)."""
    tensors, start = {}, 0
    for name, shape in spec.layers:
        size = int(np.prod(shape))
        tensors[name] = theta[:, start:start + size].reshape((len(theta),) + shape)
        start += size

    def linear(x, layer):
        return torch.baddbmm(tensors[f"{layer}.bias"].unsqueeze(1), x, tensors[f"{layer}.weight"].transpose(1, 2))

    x = torch.relu(linear(nn.functional.elu(linear(obs, "linear1")), "linear2"))
    return linear(x, "mean_linear"), linear(x, "log_std_linear").clamp(LOG_STD_MIN, LOG_STD_MAX)


class HyperPolicy(nn.Module):
    """GRU encoder -> z -> hypernetwork -> family parameters; and a value head V(s, z)."""

    def __init__(self, cfg: Config, spec: PolicySpec):
        super().__init__()
        self.spec = spec
        self.gru = nn.GRU(spec.obs_dim + spec.act_dim + int(cfg.context_rewards), cfg.encoder_hidden, batch_first=True)
        self.to_latent = nn.Linear(cfg.encoder_hidden, cfg.latent)
        self.hyper_hidden = nn.Linear(cfg.latent, cfg.hyper_hidden)
        self.hyper_out = nn.Linear(cfg.hyper_hidden, spec.n_params)
        self.value = nn.Sequential(nn.Linear(spec.obs_dim + cfg.latent, 256), nn.ReLU(), nn.Linear(256, 1))
        # bias-HyperInit: emitted parameters start as a standard init of the base network
        with torch.no_grad():
            self.hyper_out.weight.zero_()
            self.hyper_out.bias.copy_(torch.as_tensor(GaussianActor(spec).flat_parameters()))

    def encode(self, context: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """z (B, latent) from context (B, L, obs + act [+ 1]) whose rows are valid up to lengths (B,)."""
        outputs, _ = self.gru(context)
        last = outputs[torch.arange(len(context)), lengths - 1]
        return self.to_latent(last)

    def emit(self, z: torch.Tensor) -> torch.Tensor:
        """(B, n_params) family parameters for z (B, latent)."""
        return self.hyper_out(torch.relu(self.hyper_hidden(z)))


class HyperNetwork(Method):
    name = "hypernet"
    Config = Config
    reads = ("states", "actions", "rewards")

    def __init__(self, config: Config, spec: PolicySpec):
        super().__init__(config, spec)
        self.model: HyperPolicy | None = None

    @classmethod
    def reads_for(cls, config: Config) -> tuple[str, ...]:
        return cls.reads if config.context_rewards else ("states", "actions")

    def _context(self, data: PolicySet) -> tuple[torch.Tensor, torch.Tensor]:
        """(context (N, L, obs + act [+ 1]), lengths (N,)) of the first context_steps steps; the scaled
        dense reward is the last channel only when `context_rewards`."""
        steps = min(self.config.context_steps, data.states.shape[1])
        parts = [data.states[:, :steps], data.actions[:, :steps]]
        if self.config.context_rewards:
            parts.append(data.rewards[:, :steps, None] * self.config.reward_scale)
        context = np.concatenate(parts, axis=-1)
        lengths = np.minimum(data.lengths, steps)
        device = self.config.device
        return (torch.as_tensor(context, dtype=torch.float32, device=device),
                torch.as_tensor(lengths, dtype=torch.int64, device=device))

    def fit(self, zoo: Zoo, seed: int) -> dict:
        cfg, data, spec = self.config, zoo.checkpoints, self.spec
        check_policy_set(data, spec, "zoo checkpoints")
        start = time.process_time()
        rng = seeded(seed)
        self.model = HyperPolicy(cfg, spec).to(cfg.device)
        optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        context, context_lengths = self._context(data)
        device = cfg.device
        states = torch.as_tensor(data.states, device=device)
        actions = torch.as_tensor(data.actions, device=device)
        returns = torch.as_tensor(discounted_returns(data.rewards * cfg.reward_scale, data.lengths, cfg.gamma),
                                  device=device)
        tasks = data.tasks
        same_task = {t: np.flatnonzero(tasks == t) for t in set(tasks.tolist())}
        history = []
        for _ in range(cfg.steps):
            ctx = rng.integers(0, len(data), size=cfg.batch_contexts)
            target = np.array([rng.choice(same_task[tasks[i]]) for i in ctx])
            step = np.floor(rng.random((cfg.batch_contexts, cfg.batch_states)) * data.lengths[target, None]).astype(np.int64)
            rows_t, step_t = torch.as_tensor(target)[:, None], torch.as_tensor(step)
            obs, act, ret = states[rows_t, step_t], actions[rows_t, step_t], returns[rows_t, step_t]

            z = self.model.encode(context[ctx], context_lengths[ctx])                   # (B, latent)
            mean, log_std = batched_forward(self.model.emit(z), obs, spec)              # (B, M, act)
            value = self.model.value(torch.cat([obs, z.detach()[:, None].expand(-1, obs.shape[1], -1)], -1))[..., 0]
            advantage = (ret - value).detach()
            weight = torch.exp(advantage / cfg.awr_beta).clamp(max=cfg.awr_max_weight)
            bc = ((torch.tanh(mean) - act) ** 2).sum(-1) \
                + cfg.log_std_weight * gaussian_nll(pre_tanh(act), mean.detach(), log_std).sum(-1)
            policy_loss = (weight * bc).mean()
            value_loss = ((value - ret) ** 2).mean()
            optimizer.zero_grad()
            (policy_loss + value_loss).backward()
            optimizer.step()
            history.append((float(bc.detach().mean()), float(value_loss.detach())))
        bc_history = np.array(history)[:, 0]
        window = max(1, min(50, len(history) // 5))
        return {"bc_first": float(bc_history[:window].mean()), "bc_last": float(bc_history[-window:].mean()),
                "value_loss_last": float(np.array(history)[-window:, 1].mean()), "steps": cfg.steps,
                "cpu_seconds": time.process_time() - start}

    @torch.no_grad()
    def propose(self, conditions: PolicySet, seed: int) -> ParameterProposal:
        """One policy per condition trajectory (K = n), emitted from its encoding; no gradient steps."""
        check_policy_set(conditions, self.spec, "condition trajectories")
        seeded(seed)
        context, lengths = self._context(conditions)
        theta = self.model.emit(self.model.encode(context, lengths))
        return ParameterProposal(params=theta.cpu().numpy().astype(np.float32), spec=self.spec)

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        meta = {"method": self.name, "config": config_to_dict(self.config), "spec": self.spec.to_dict()}
        return self.model.state_dict(), meta

    @classmethod
    def from_state(
        cls, tensors: dict[str, torch.Tensor], meta: dict, config: Config | None, spec: PolicySpec
    ) -> "HyperNetwork":
        if config is None:
            config = config_from_dict(Config, meta["config"], STATE_META)
        method = cls(config, spec)
        method.model = HyperPolicy(config, spec).to(config.device)
        method.model.load_state_dict(tensors)
        return method
