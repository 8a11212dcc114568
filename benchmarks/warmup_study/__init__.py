"""The warmup study: does the detector's advice hold on real data? (``radam-integrations study``)

Top-down: :mod:`.plan` (tasks, arms, seeds, the warmup grid) -> :mod:`.harness` (probes, then
every run, in worker processes; results saved as they come) -> one task module per dataset
(:mod:`.bytes_lm`: the standard library's source as bytes through the HF Trainer, with
:mod:`.corpus`; :mod:`.digits`: scikit-learn's digits through timm; :mod:`.reversal`: the demo's
task through Lightning, the control), each returning a :func:`.spec.run_record` ->
:mod:`.analysis` (statistics, the verdicts) -> :mod:`.report` (tables and figures).
Nothing here is imported by ``import radam_integrations``.
"""
