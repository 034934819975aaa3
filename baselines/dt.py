"""Decision Transformer for meta-imitation with a trajectory prompt (Chen et al. 2021; Prompt-DT,
Xu et al. 2022; Hyper-DT, Xu et al. 2023).

A small GPT reads [prompt ; context] where each step contributes three tokens
(success-to-go, state, action) and predicts the action from each state token. The context is
a window of up to `context` (20) steps of the current trajectory; the prompt is `prompt_steps`
steps of a demonstration of the same task, ending at its first success (the last steps of a
trajectory that never succeeds).

Inputs (what it reads from a condition trajectory): states, actions and the success flags.
- Success-to-go, the return-to-go of a sparse reward of 1 at the first success: 1 at every
  step up to and including the first success, 0 after it and on trajectories that never
  succeed. At test time the context's token is 1 at every step ("act as one that will still
  succeed"); evaluation episodes stop at the first success, so it never has to drop to 0.
- Timesteps are positions inside their segment (0..context-1 in the context window,
  0..prompt_steps-1 in the prompt), not episode steps: every embedding row is trained, however
  long a rollout runs (zoo trajectories end ~10 steps after success, 51-85 steps, while an
  evaluation episode runs up to 500). `time_rows_trained` records which rows received a
  gradient; the tests check a long rollout uses no other.
- States are normalised by the mean and std of the zoo's valid steps (std floored at
  `state_std_floor`, for dimensions that are constant in the zoo); the statistics are buffers
  of the model, saved with it.

Pretraining on the zoo's checkpoint trajectories: prompt from a random successful trajectory of
the same task, context a random window of another; loss MSE between tanh(prediction) and the
action on the window's valid steps. Adaptation per cell: one copy finetuned by the same loss
on the cell's condition trajectories for `finetune_steps` (0 is the prompt-only variant
`dt[finetune_steps=0]`, Prompt-DT's own way of adapting), prompts drawn from the successful
ones; then K = n policies (one per condition trajectory, as Make-An-Agent), policy k prompted
with the (k mod m)-th of the m successful condition trajectories. Fallback when none of the
cell's trajectories succeeds: policy k is prompted with the end of condition trajectory k (the
only demonstrations of the task there are; their prompt tokens carry success-to-go 0), and
finetuning draws prompts from all of them. The actor keeps each episode's history and acts
deterministically.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from baselines.common import check_policy_set, seeded
from benchmark.api import STATE_META, ActorProposal, Method, config_from_dict, config_to_dict
from benchmark.policy import PolicySpec
from benchmark.zoo.format import PolicySet, Zoo

REDUCTIONS: dict[str, str] = {
    "paper": ("the Make-An-Agent paper does not give its DT's size: Prompt-DT's (3 layers, 1 head, width 128, "
              "context 20, prompt 5 steps, 50k steps); finetuned 200 steps per cell, as the Make-An-Agent paper "
              "adapts every baseline with the condition trajectories (Prompt-DT itself adapts by prompt only: "
              "the variant dt[finetune_steps=0]); timesteps relative to the segment (the DT paper embeds "
              "episode steps); success-to-go instead of a return-to-go of the dense reward"),
    "mini": ("width 64 (128), 2 layers (3), batch 32 (64), 2k pretraining steps (50k); finetuning 40 steps per cell "
             "(200). The 2k steps are a CPU bound, not a plateau: on the mini zoo (whole distillation runs held out) "
             "the held-out action loss was 0.090, 0.055, 0.039, 0.032, 0.028 at 250..1250 steps, still falling"),
    "smoke": "1 layer, width 32, context 5, prompt 2, a few steps: plumbing only",
}


@dataclass
class Config:
    """Hyperparameters of the prompted Decision Transformer."""

    context: int = 20
    """Steps of history the model attends to (K in the DT paper)."""
    prompt_steps: int = 5
    """Steps of the prompt segment (the end of a trajectory of the task)."""
    width: int = 128
    """Token embedding width."""
    layers: int = 3
    """Transformer blocks."""
    heads: int = 1
    """Attention heads per block."""
    steps: int = 50_000
    """Pretraining gradient steps."""
    batch_size: int = 64
    """(prompt, window) samples per step."""
    lr: float = 1e-4
    """AdamW learning rate (linear warm-up over `warmup` steps)."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    warmup: int = 1_000
    """Warm-up steps of the learning rate."""
    finetune_steps: int = 200
    """Gradient steps of the per-cell finetuning on the condition trajectories."""
    finetune_lr: float = 5e-5
    """AdamW learning rate of the finetuning (no warm-up)."""
    state_std_floor: float = 1e-2
    """Lower bound of the per-dimension state std used for normalisation."""
    device: str = "cpu"
    """Torch device for training, finetuning and acting."""


PRESETS = {
    "paper": {},
    "mini": {"width": 64, "layers": 2, "steps": 2_000, "batch_size": 32, "warmup": 100, "finetune_steps": 40,
             "lr": 3e-4},
    "smoke": {"steps": 6, "batch_size": 4, "warmup": 1, "finetune_steps": 2, "width": 32, "layers": 1,
              "context": 5, "prompt_steps": 2},
}


class PromptDT(nn.Module):
    """GPT over (rtg, state, action) tokens of [prompt ; context]; actions from state tokens."""

    def __init__(self, cfg: Config, spec: PolicySpec):
        super().__init__()
        w = cfg.width
        self.embed_rtg, self.embed_state, self.embed_action = nn.Linear(1, w), nn.Linear(spec.obs_dim, w), nn.Linear(spec.act_dim, w)
        # positions inside a segment (context window or prompt), not episode steps
        self.embed_time = nn.Embedding(max(cfg.context, cfg.prompt_steps), w)
        self.register_buffer("time_rows_trained", torch.zeros(self.embed_time.num_embeddings, dtype=torch.bool))
        self.register_buffer("state_mean", torch.zeros(spec.obs_dim))
        self.register_buffer("state_std", torch.ones(spec.obs_dim))
        self.embed_segment = nn.Embedding(2, w)          # 0: prompt token, 1: context token
        self.norm_in = nn.LayerNorm(w)
        block = nn.TransformerEncoderLayer(w, cfg.heads, 4 * w, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, cfg.layers, enable_nested_tensor=False)
        self.norm_out = nn.LayerNorm(w)
        self.predict_action = nn.Linear(w, spec.act_dim)

    def _tokens(self, rtg, states, actions, timesteps, segment: int) -> torch.Tensor:
        """(B, 3L, w) interleaved tokens for rtg (B, L), states (B, L, obs), actions (B, L, act), timesteps (B, L)."""
        time_and_segment = self.embed_time(timesteps) + self.embed_segment.weight[segment]
        states = (states - self.state_mean) / self.state_std
        stacked = torch.stack([self.embed_rtg(rtg[..., None]), self.embed_state(states), self.embed_action(actions)], 2)
        stacked = stacked + time_and_segment[:, :, None]
        return stacked.reshape(len(states), -1, stacked.shape[-1])

    def forward(self, prompt: tuple, context: tuple) -> torch.Tensor:
        """Pre-tanh actions (B, L, act) predicted at the L context state tokens.

        prompt and context are (rtg (B, L), states (B, L, obs), actions (B, L, act), timesteps (B, L)).
        Right-padding of the context is harmless: attention is causal.
        """
        tokens = torch.cat([self._tokens(*prompt, segment=0), self._tokens(*context, segment=1)], 1)
        mask = nn.Transformer.generate_square_subsequent_mask(tokens.shape[1], device=tokens.device)
        hidden = self.norm_out(self.blocks(self.norm_in(tokens), mask=mask, is_causal=True))
        state_tokens = hidden[:, 3 * prompt[1].shape[1] + 1::3]
        return self.predict_action(state_tokens)


class Segments:
    """Tensors of a PolicySet and the windows the DT reads from it."""

    def __init__(self, data: PolicySet, device: str):
        self.lengths = data.lengths.astype(np.int64)
        first = data.first_success_steps.astype(np.int64)                                 # (N,) -1: never
        self.succeeded = first >= 0
        # success-to-go: 1 up to and including the first success, 0 after it and on failures
        rtg = (np.arange(data.states.shape[1])[None, :] <= first[:, None]).astype(np.float32)   # (N, T)
        self.prompt_end = np.where(self.succeeded, first, self.lengths - 1)              # last prompt step
        # one zero step of padding at the end so windows past a trajectory's end index validly
        self.rtg = nn.functional.pad(torch.as_tensor(rtg, device=device), (0, 1))
        self.states = nn.functional.pad(torch.as_tensor(data.states, device=device), (0, 0, 0, 1))
        self.actions = nn.functional.pad(torch.as_tensor(data.actions, device=device), (0, 0, 0, 1))
        self.horizon = data.states.shape[1]
        self.device = device

    def window(self, rows: np.ndarray, starts: np.ndarray, steps: int) -> tuple[tuple, torch.Tensor]:
        """((rtg, states, actions, timesteps) of `steps` steps from starts (B,) of rows (B,), valid (B, steps)).
        Timesteps are positions in the window, 0..steps-1."""
        t = starts[:, None] + np.arange(steps)[None, :]
        valid = t < self.lengths[rows, None]
        index = torch.as_tensor(np.where(valid, t, self.horizon))                         # padding row
        rows_t = torch.as_tensor(rows)[:, None]
        timesteps = torch.arange(steps, device=self.device)[None].expand(len(rows), -1)
        return ((self.rtg[rows_t, index], self.states[rows_t, index], self.actions[rows_t, index], timesteps),
                torch.as_tensor(valid, device=self.device))

    def prompt(self, rows: np.ndarray, steps: int) -> tuple:
        """`steps` steps of each of rows (B,) ending at its first success (its last step if it never
        succeeds), from step 0 if that is shorter."""
        return self.window(rows, np.maximum(self.prompt_end[rows] - steps + 1, 0), steps)[0]

    def prompt_pools(self, tasks: np.ndarray) -> dict:
        """task -> rows prompts are drawn from: its successful trajectories, all of them if none succeeds."""
        pools = {}
        for task in set(tasks.tolist()):
            rows = np.flatnonzero(tasks == task)
            pools[task] = rows[self.succeeded[rows]] if self.succeeded[rows].any() else rows
        return pools


def train_steps(model: PromptDT, data: Segments, tasks: np.ndarray, cfg: Config, steps: int, lr: float,
                warmup: int, rng: np.random.Generator) -> list[float]:
    """AdamW on DT's action MSE; prompts from same-task successful trajectories (see
    Segments.prompt_pools). Marks the time-embedding rows that receive a gradient. Returns loss per step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(warmup, 1)))
    same_task = data.prompt_pools(tasks)
    history = []
    for _ in range(steps):
        rows = rng.integers(0, len(tasks), size=cfg.batch_size)
        prompt_rows = np.array([rng.choice(same_task[tasks[r]]) for r in rows])
        starts = np.floor(rng.random(cfg.batch_size) * data.lengths[rows]).astype(np.int64)
        context, valid = data.window(rows, starts, cfg.context)
        predicted = model(data.prompt(prompt_rows, cfg.prompt_steps), context)
        error = ((torch.tanh(predicted) - context[2]) ** 2).sum(-1)
        loss = (error * valid).sum() / valid.sum()
        optimizer.zero_grad()
        loss.backward()
        with torch.no_grad():
            model.time_rows_trained |= model.embed_time.weight.grad.abs().sum(1) > 0
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        schedule.step()
        history.append(float(loss.detach()))
    return history


class DTActor:
    """B lockstep episodes; row b is policy policy_ids[b], prompted with that policy's prompt.

    `act(obs (B, obs))` -> (B, act) in [-1, 1]; history grows by one step per call (the engine
    passes all B rows every step, finished episodes included).
    """

    def __init__(self, model: PromptDT, prompts: tuple, policy_ids: np.ndarray, cfg: Config, spec: PolicySpec):
        self.model, self.cfg, self.spec = model, cfg, spec
        ids = torch.as_tensor(np.asarray(policy_ids, dtype=np.int64))
        self.prompt = tuple(p[ids] for p in prompts)
        self.states = torch.zeros(len(ids), 0, spec.obs_dim)
        self.actions = torch.zeros(len(ids), 0, spec.act_dim)

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        device = self.cfg.device
        obs_t = torch.as_tensor(np.asarray(obs, np.float32), device=device)
        self.states = torch.cat([self.states.to(device), obs_t[:, None]], 1)[:, -self.cfg.context:]
        self.actions = torch.cat([self.actions.to(device), torch.zeros_like(obs_t[:, :self.spec.act_dim])[:, None]], 1)[:, -self.cfg.context:]
        steps = self.states.shape[1]
        timesteps = torch.arange(steps, device=device)[None].expand(len(obs_t), -1)      # positions in the window
        rtg = torch.ones(len(obs_t), steps, device=device)                                  # target: success
        action = torch.tanh(self.model(self.prompt, (rtg, self.states, self.actions, timesteps))[:, -1])
        self.actions[:, -1] = action
        return action.cpu().numpy()


class DecisionTransformer(Method):
    name = "dt"
    Config = Config
    reads = ("states", "actions", "successes")

    def __init__(self, config: Config, spec: PolicySpec):
        super().__init__(config, spec)
        self.model: PromptDT | None = None

    def fit(self, zoo: Zoo, seed: int) -> dict:
        cfg, data = self.config, zoo.checkpoints
        check_policy_set(data, self.spec, "zoo checkpoints")
        start = time.process_time()
        rng = seeded(seed)
        self.model = PromptDT(cfg, self.spec).to(cfg.device)
        valid = np.arange(data.states.shape[1])[None, :] < data.lengths[:, None]
        states = data.states[valid].astype(np.float64)
        with torch.no_grad():
            self.model.state_mean.copy_(torch.as_tensor(states.mean(0), dtype=torch.float32))
            self.model.state_std.copy_(torch.as_tensor(np.maximum(states.std(0), cfg.state_std_floor), dtype=torch.float32))
        history = train_steps(self.model, Segments(data, cfg.device), data.tasks, cfg, cfg.steps, cfg.lr, cfg.warmup, rng)
        window = max(1, min(50, len(history) // 5))
        return {"loss_first": float(np.mean(history[:window])), "loss_last": float(np.mean(history[-window:])),
                "steps": cfg.steps, "cpu_seconds": time.process_time() - start}

    def propose(self, conditions: PolicySet, seed: int) -> ActorProposal:
        """One policy per condition trajectory (K = n): a copy finetuned on all of them (none when
        finetune_steps is 0), policy k prompted with the (k mod m)-th of the m successful condition
        trajectories (with trajectory k when none succeeds; see the module docstring)."""
        cfg = self.config
        check_policy_set(conditions, self.spec, "condition trajectories")
        rng = seeded(seed)
        model = copy.deepcopy(self.model)
        segments = Segments(conditions, cfg.device)
        one_task = np.zeros(len(conditions), np.int64)  # a cell's trajectories share one task, unread
        train_steps(model, segments, one_task, cfg, cfg.finetune_steps, cfg.finetune_lr, 0, rng)
        model.eval()
        successful = np.flatnonzero(segments.succeeded)
        k = np.arange(len(conditions))
        prompt_rows = successful[k % len(successful)] if len(successful) else k
        prompts = segments.prompt(prompt_rows, cfg.prompt_steps)
        return ActorProposal(n_policies=len(conditions),
                             make_actor=lambda policy_ids: DTActor(model, prompts, policy_ids, cfg, self.spec))

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        meta = {"method": self.name, "config": config_to_dict(self.config), "spec": self.spec.to_dict()}
        return self.model.state_dict(), meta

    @classmethod
    def from_state(
        cls, tensors: dict[str, torch.Tensor], meta: dict, config: Config | None, spec: PolicySpec
    ) -> "DecisionTransformer":
        if config is None:
            config = config_from_dict(Config, meta["config"], STATE_META)
        method = cls(config, spec)
        method.model = PromptDT(config, spec).to(config.device)
        method.model.load_state_dict(tensors)
        return method
