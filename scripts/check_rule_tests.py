"""Check that each rule-pinning test fails when its rule is removed (a mutation check, issue #9).

    python scripts/check_rule_tests.py [NAME ...]

Each entry removes one rule from the source (a literal replacement in one file), runs the tests that pin
it, expects them to fail, and restores the file. A "STILL PASSES" line means a rule no test guards. The
snippets are the code as written when the tests were added: when a rule's code moves, update its entry.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MUTATIONS = [
    (
        "serving cost overflow is infeasible",
        "tco/model/serving.py",
        'overflow = joined["feasible"].to_numpy(dtype=bool) & np.isinf(costs["cost_usd_per_month"])',
        'overflow = joined["feasible"].to_numpy(dtype=bool) & False',
        ["tests/tco/model/test_hostile_inputs.py::test_a_rate_whose_fleet_cost_overflows_is_no_option"],
    ),
    (
        "headroom",
        "tco/model/formulas.py",
        'ceil(var("requests_per_s") * (1 + var("headroom")) / var("requests_per_s_per_replica"))',
        'ceil(var("requests_per_s") / var("requests_per_s_per_replica")) + 0 * var("headroom")',
        [
            "tests/tco/test_rules.py::test_serving_headroom_sizes_replicas_above_the_request_rate",
            "tests/tco/test_rules.py::test_a_plan_sizes_serving_with_headroom_and_minimum_replicas",
        ],
    ),
    (
        "spot stretch limit (estimate)",
        "tco/model/training.py",
        'stalled = priced["interruption_factor"] > limit',
        'stalled = priced["interruption_factor"] > 1e300',
        ["tests/tco/test_cli_estimate.py::test_spot_plans_stalled_by_interruptions_are_infeasible"],
    ),
    (
        "plan spot-interruption rule",
        "tco/plan/candidates.py",
        "stalled = factor > assumptions.max_interruption_factor.value",
        "stalled = factor > 1e300",
        ["tests/tco/test_rules.py::test_a_plan_refuses_spot_runs_stretched_past_the_interruption_limit"],
    ),
    (
        "plan spot time factor",
        "tco/plan/budget.py",
        'chosen["interruptible"].fillna(False).astype(bool).to_numpy()[at],',
        'chosen["interruptible"].fillna(False).astype(bool).to_numpy()[at] & False,',
        ["tests/tco/test_rules.py::test_a_plan_pays_the_spot_time_factor"],
    ),
    (
        "plan spot time factor (the candidates' totals)",
        "tco/plan/candidates.py",
        "            flag[live],\n            runs[live] * growth,",
        "            flag[live] & False,\n            runs[live] * growth,",
        ["tests/tco/test_plan.py::test_each_choice_costs_the_sum_of_its_months"],
    ),
    (
        "stale warning (all)",
        "tco/api/sources.py",
        "stale = [s for s in snapshots if s.age_days is not None and s.age_days > max_age_days]",
        "stale = []",
        [
            "tests/tco/test_rules.py::test_estimate_and_plan_warn_about_stale_prices_at_the_configured_age",
            "tests/tco/api/test_offers.py::test_one_stale_price_policy_honours_the_environment",
        ],
    ),
    (
        "stale warning (plan)",
        "tco/api/planning.py",
        "return PlanOutcome(result, price_provenance(catalog, providers, max_age_days=age))",
        "return PlanOutcome(result, Provenance())",
        ["tests/tco/test_rules.py::test_estimate_and_plan_warn_about_stale_prices_at_the_configured_age"],
    ),
    (
        "stale env ignored (hard-coded 30)",
        "tco/api/sources.py",
        '        text = os.environ.get(MAX_AGE_ENV, "").strip()',
        '        text = ""',
        [
            "tests/tco/test_rules.py::test_estimate_and_plan_warn_about_stale_prices_at_the_configured_age",
            "tests/tco/api/test_offers.py::test_one_stale_price_policy_honours_the_environment",
        ],
    ),
    (
        "held commitments (estimate/plan)",
        "tco/model/formulas.py",
        '    held_accelerators=HELD_UNITS.bind(unit_hours_per_month=_cluster_hours, utilisation=1)\n    * var("billed_accelerators"),',  # noqa: E501
        '    held_accelerators=var("billed_accelerators") * _cluster_hours / HOURS_PER_MONTH,',
        [
            "tests/tco/model/test_purchase.py::test_commitment_is_paid_whether_used_or_not",
            "tests/tco/test_plan_estimate.py::test_committed_plan_pays_held_clusters_as_estimate",
        ],
    ),
    (
        "held commitments (procurement)",
        "tco/procurement.py",
        '        accelerators_held=held_accelerators(demand, cloud["accelerators_per_instance"].to_numpy(), u),',  # noqa: E501
        "        accelerators_held=demand / (730 * u),",
        ["tests/tco/test_procurement_estimate.py"],
    ),
    (
        "flagged prices left out",
        "tco/api/offers.py",
        "        include_flagged=query.include_flagged,",
        "        include_flagged=True,",
        ["tests/tco/api/test_offers.py::test_flagged_prices_are_left_out_by_every_entry_point"],
    ),
    (
        "serving not on spot by default (estimate)",
        "tco/api/offers.py",
        "    if not interruptible_by_default and not query.pricing_models:",
        "    if False:",
        [
            "tests/tco/api/test_estimate.py::test_serving_estimate_holds_the_workload_and_only_asked_for_spot",
            "tests/tco/test_rules.py::test_serving_lands_on_spot_only_when_asked",
        ],
    ),
    (
        "serving not on spot by default (plan)",
        "tco/plan/candidates.py",
        "    keep = ~interruptible[option] | allowed[endpoint[row]]",
        "    keep = interruptible[option] | True",
        ["tests/tco/test_rules.py::test_serving_lands_on_spot_only_when_asked"],
    ),
    (
        "plan min_replicas",
        "tco/plan/candidates.py",
        '    frame["min_replicas"] = np.array([float(v.min_replicas) for v in endpoints])[endpoint]',
        '    frame["min_replicas"] = 1.0',
        ["tests/tco/test_rules.py::test_a_plan_sizes_serving_with_headroom_and_minimum_replicas"],
    ),
    (
        "plan max_days",
        "tco/plan/candidates.py",
        "        late = usable & (wall_days > max_days)",
        "        late = usable & False",
        ["tests/tco/test_rules.py::test_a_plan_keeps_runs_within_max_days"],
    ),
    (
        "whole instances billed",
        "tco/model/formulas.py",
        "BILLED_ACCELERATORS: Final = WHOLE_INSTANCE_ACCELERATORS.bind(instances=INSTANCES)",
        'BILLED_ACCELERATORS: Final = var("accelerator_count") + 0 * var("accelerators_per_instance")',
        ["tests/tco/test_rules.py::test_whole_instances_are_billed"],
    ),
    (
        "cheapest region per instance",
        "tco/api/offers.py",
        "    options = options if query.all_regions else cheapest_regions(options)",
        "    options = options",
        ["tests/tco/test_rules.py::test_estimates_show_the_cheapest_region_per_instance_unless_all_regions"],
    ),
    (
        "one formula, two renderings (FLOOR)",
        "tco/model/formula.py",
        '"FLOOR": (_numpy("floor"), lambda a: f"FLOOR({a[0]},1)"),',
        '"FLOOR": (_numpy("floor"), lambda a: f"ROUNDUP({a[0]},0)"),',
        [
            "tests/tco/model/test_formula.py::test_libreoffice_recalculates_every_formula_to_the_models_numbers"
        ],
    ),
    (
        "one formula, two renderings (precedence)",
        "tco/model/formula.py",
        '            self.right._precedence == mine and (self.op in ("-", "/", "^") or mine == 0)',
        '            self.right._precedence == mine and (self.op in ("^",) or mine == 0)',
        [
            "tests/tco/model/test_formula.py::test_libreoffice_recalculates_every_formula_to_the_models_numbers",
            "tests/tco/model/test_formula.py::test_rendering_keeps_the_meaning_of_the_tree",
        ],
    ),
    (
        "frameworks vocabulary (pytorch)",
        "tco/vocabulary.py",
        "    if key in RENAMED_FRAMEWORKS:",
        "    if key in ():",
        [
            "tests/tco/api/test_plan_and_compare.py::test_plan_cli_accepts_savings_plan_and_says_pytorch_is_torch"
        ],
    ),
    (
        "stale warning (estimate)",
        "tco/api/estimate.py",
        "    return replace(prices, notes=notes, assumptions=assumptions.assumptions)",
        "    return replace(prices, notes=notes, assumptions=assumptions.assumptions, warnings=())",
        ["tests/tco/test_rules.py::test_estimate_and_plan_warn_about_stale_prices_at_the_configured_age"],
    ),
    (
        "plan headroom",
        "tco/plan/budget.py",
        '        "headroom": serving.headroom.value,',
        '        "headroom": 0.0,',
        ["tests/tco/test_rules.py::test_a_plan_sizes_serving_with_headroom_and_minimum_replicas"],
    ),
    (
        "plan headroom (the candidates' totals)",
        "tco/plan/candidates.py",
        "            headroom=a.headroom.value,",
        "            headroom=0.0,",
        ["tests/tco/test_plan.py::test_each_choice_costs_the_sum_of_its_months"],
    ),
    (
        "spot high case past the stretch limit (range note)",
        "tco/model/training.py",
        'high_stalled = priced.pop("interruption_factor_high") > limit',
        'high_stalled = priced.pop("interruption_factor_high") > 1e300',
        ["tests/tco/test_cli_estimate.py::test_explain_says_when_the_high_case_crosses_the_stretch_limit"],
    ),
    (
        "disaggregated pools: prefill + decode replicas",
        "tco/model/formulas.py",
        'POOL_REPLICAS: Final = var("prefill_replicas") + var("decode_replicas")',
        'POOL_REPLICAS: Final = var("prefill_replicas") + 0 * var("decode_replicas")',
        [
            "tests/tco/api/test_model_inputs.py::test_engines_and_layouts_are_dimensions_of_the_serving_estimate",
        ],
    ),
    (
        "a tracked run is labelled measured on your job",
        "tco/api/estimate.py",
        "        grid = label_measured(grid, measured)",
        "        grid = grid",
        [
            "tests/tco/track/test_from_run_cli.py::test_a_tracked_job_is_reprojected_on_other_accelerators_and_offers"
        ],
    ),
    (
        "a tracked run's framework and precision",
        "tco/api/estimate.py",
        "        frameworks=request.frameworks if measured is None else (measured.framework,),",
        "        frameworks=request.frameworks,",
        [
            "tests/tco/track/test_from_run_cli.py::test_a_tracked_job_is_reprojected_on_other_accelerators_and_offers"
        ],
    ),
    (
        "every seller in the estimates (pricing.schema.PROVIDERS)",
        "tco/api/sources.py",
        "        return load_catalog(store, providers or PROVIDERS, price_book=self.price_book)",
        '        return load_catalog(store, providers or ("aws", "gcp"), price_book=self.price_book)',
        ["tests/tco/test_cli_estimate.py::test_train_json_rows_have_every_field_and_their_sources"],
    ),
    (
        "every count shown (--top per accelerator count)",
        "tco/api/estimate.py",
        '        best_of=TRAIN_BEST_OF, per="accelerator_count",',
        "        best_of=TRAIN_BEST_OF, per=None,",
        ["tests/tco/test_cli_estimate.py::test_train_table_reads_at_a_glance"],
    ),
    (
        "procurement --set read by the one parser, at the boundary",
        "tco/cli/compare.py",
        "    callback=options.procurement_settings,",
        "    callback=None,",
        ["tests/tco/api/test_plan_and_compare.py::test_one_set_parser_answers_alike_in_every_command"],
    ),
    (
        "aliases in compare",
        "tco/api/comparisons.py",
        '        object.__setattr__(self, "accelerator", accelerator(self.accelerator))\n        if (self.acc',  # noqa: E501
        "        if (self.acc",
        ["tests/tco/api/test_plan_and_compare.py::test_compare_commands_take_accelerator_aliases"],
    ),
    # --- issue #14 phase 2: price books, budgets, offer networks, devices ----------------------------------
    (
        "price book applied by every command",
        "tco/api/sources.py",
        "return load_catalog(store, providers or PROVIDERS, price_book=self.price_book)",
        "return load_catalog(store, providers or PROVIDERS, price_book=False)",
        [
            "tests/tco/test_cli_price_books.py::test_every_command_uses_the_book_with_provenance",
            "tests/tco/test_cli_price_books.py::test_plan_uses_the_book",
        ],
    ),
    (
        "--no-price-book",
        "tco/cli/state.py",
        "return Sources(home=root.home, price_book=root.price_book)",
        "return Sources(home=root.home)",
        ["tests/tco/test_cli_price_books.py::test_every_command_uses_the_book_with_provenance"],
    ),
    (
        "a bad price book stores nothing and names each line",
        "tco/cli/prices.py",
        'sys.stderr.write("".join(f"{printable(line)}\\n" for line in exc.errors))',
        "pass",
        ["tests/tco/test_cli_price_books.py::test_a_book_with_errors_stores_nothing_and_names_each_line"],
    ),
    (
        "book rows marked in tables",
        "tco/cli/views/estimate.py",
        'return label + (" (book)" if str(r.get("price_source", "")).startswith(BOOK_PREFIX) else "")',
        "return label",
        ["tests/tco/test_cli_price_books.py::test_every_command_uses_the_book_with_provenance"],
    ),
    (
        "resellers left out on request",
        "tco/api/offers.py",
        "if not (query.exclude_resellers and s.reseller)",
        "if not (query.exclude_resellers and False)",
        ["tests/tco/test_cli_price_books.py::test_list_shows_sellers_side_by_side_with_filters"],
    ),
    (
        "over budget marked",
        "tco/model/formulas.py",
        'OVER_BUDGET: Final = var("cost_usd") > var("budget_usd")',
        'OVER_BUDGET: Final = var("cost_usd") > var("budget_usd") * 1e9',
        [
            "tests/tco/test_budget.py::test_training_budget_marks_rows_over_it_and_says_what_it_buys",
            "tests/tco/test_budget.py::test_estimate_train_marks_options_over_budget_and_keeps_them",
        ],
    ),
    (
        "what the budget buys",
        "tco/model/formulas.py",
        'WORK_WITHIN_BUDGET: Final = var("work") * var("budget_usd") / var("cost_usd")',
        'WORK_WITHIN_BUDGET: Final = var("work") + 0 * var("budget_usd") / var("cost_usd")',
        ["tests/tco/test_budget.py::test_training_budget_marks_rows_over_it_and_says_what_it_buys"],
    ),
    (
        "plan: cumulative budget",
        "tco/model/budget.py",
        "over_cumulative = (cumulative > cumulative_budget)",
        "over_cumulative = (cumulative > cumulative_budget * 1e9)",
        ["tests/tco/test_budget.py::test_plan_budget_per_month_and_for_the_horizon"],
    ),
    (
        "offer network replaces the cluster default",
        "tco/model/training.py",
        "        offer.notna(), cluster_default",
        "        offer.isna(), cluster_default",
        [
            "tests/tco/model/test_offer_networks.py::test_a_marketplace_vm_cluster_is_not_given_an_infiniband_fabric"
        ],
    ),
    (
        "Ethernet assumption for offers without a fabric",
        "tco/model/offers.py",
        "    gbps[rest] = ethernet_gb_s_per_instance * 8.0",
        "    gbps[rest] = np.nan",
        ["tests/tco/model/test_offer_networks.py::test_fabrics_ethernet_and_defaults"],
    ),
    (
        "H100 PCIe is its own part",
        "calibrate/devices.py",
        '(r"\\bh100\\b.*\\bpcie\\b", "H100-80GB-PCIe", "H100-80GB-PCIe"),',
        '(r"\\bh100\\b.*\\bpcie\\b", "H100-80GB", "H100-80GB-PCIe"),',
        ["tests/calibrate/test_devices.py"],
    ),  # issue 15 item 1: every value on the command line checked while it is read (tco/cli/options.py)
    (
        "cli: an empty value is refused",
        "tco/cli/options.py",
        "    if not value.strip():\n",
        "    if False:\n",
        [
            "tests/tco/test_cli_validation.py::test_an_empty_value_is_refused_never_the_default",
            "tests/tco/test_cli_validation.py::test_a_blank_value_is_refused",
        ],
    ),
    (
        "cli: a control character is refused",
        "tco/cli/options.py",
        "    control = first_control(value)",
        "    control = None",
        ["tests/tco/test_cli_validation.py::test_a_control_character_is_refused"],
    ),
    (
        "text: bidirectional controls and line separators are control characters",
        "tco/text.py",
        '_SEPARATORS_AND_BIDI: Final = "\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"',
        '_SEPARATORS_AND_BIDI: Final = ""',
        [
            "tests/tco/test_cli_outputs.py::test_bidirectional_controls_never_reach_the_terminal_raw",
            "tests/tco/test_cli_validation.py::test_a_bidirectional_control_is_refused",
        ],
    ),
    (
        "cli: numbers are finite",
        "tco/cli/options.py",
        "    if isinstance(result, float) and not math.isfinite(result):",
        "    if False:",
        ["tests/tco/test_cli_validation.py::test_a_number_is_finite"],
    ),
    (
        "cli: numbers have a ceiling",
        "tco/cli/options.py",
        "    if abs(result) > limit:",
        "    if False:",
        ["tests/tco/test_cli_validation.py::test_a_number_has_a_ceiling"],
    ),
    (
        "cli: an empty list item is refused",
        "tco/cli/options.py",
        "        if not all(parts):",
        "        if False:",
        ["tests/tco/test_cli_validation.py::test_an_empty_item_of_a_list_is_refused"],
    ),
    (
        "cli: a repeated item counts once",
        "tco/cli/options.py",
        "    return list(dict.fromkeys(out))",
        "    return out",
        ["tests/tco/test_cli_validation.py::test_an_item_given_twice_counts_once"],
    ),
    (
        "cli: names and numbers read while the line is read",
        "tco/cli/options.py",
        "            read(value, option_name(param))",
        "            pass",
        ["tests/tco/test_cli_validation.py::test_a_name_is_known_or_refused_with_suggestions"],
    ),
    (
        "cli: every loaded command is hardened",
        "tco/cli/lazy.py",
        "harden(typer.main.get_command(target))",
        "typer.main.get_command(target)",
        ["tests/tco/test_cli_validation.py::test_every_option_of_every_command_gets_the_rules_of_its_type"],
    ),
    (
        "cli: the environment is checked first",
        "tco/cli/app.py",
        "        environment(home)\n",
        "        pass\n",
        [
            "tests/tco/test_cli_validation.py::test_the_price_age_variable_is_a_finite_number_of_days",
            "tests/tco/test_cli_validation.py::test_a_home_that_is_a_file_is_refused_by_every_command",
        ],
    ),
    (
        "cli: a variable set but empty is refused",
        "tco/cli/options.py",
        "        if value is not None and not value.strip():",
        "        if False:",
        ["tests/tco/test_cli_validation.py::test_a_variable_set_but_empty_is_refused"],
    ),
    (
        "inputs: a price age is finite",
        "tco/api/sources.py",
        "    if not (value >= 0 and math.isfinite(value)):",
        "    if not value >= 0:",
        ["tests/tco/test_cli_validation.py::test_the_price_age_variable_is_a_finite_number_of_days"],
    ),
    (
        "inputs: a quantity is finite",
        "tco/api/inputs.py",
        "    if not math.isfinite(number) or abs(number) > MAX_QUANTITY:",
        "    if False:",
        ["tests/tco/test_cli_validation.py::test_a_quantity_is_a_finite_number_above_zero"],
    ),
    (
        "inputs: a quantity is above zero",
        "tco/api/inputs.py",
        '    if number is None or not number > 0:\n        raise TcoError(f"{name} must be > 0',
        '    if number is None:\n        raise TcoError(f"{name} must be > 0',
        ["tests/tco/test_cli_validation.py::test_a_quantity_is_a_finite_number_above_zero"],
    ),
    (
        "inputs: runs per month are above zero",
        "tco/api/inputs.py",
        '        if number is None or not number > 0:\n            raise TcoError(f"{name} must be numbers',
        '        if number is None:\n            raise TcoError(f"{name} must be numbers',
        ["tests/tco/test_cli_validation.py::test_runs_per_month_are_finite_and_positive"],
    ),
    (
        "inputs: counts have a ceiling",
        "tco/api/inputs.py",
        "        if number > MAX_COUNT:",
        "        if False:",
        ["tests/tco/test_cli_validation.py::test_counts_are_whole_numbers_within_reach"],
    ),
    (
        "inputs: a picture's suffix names its format",
        "tco/api/inputs.py",
        "    if PurePath(path).suffix.lower() not in PLOT_SUFFIXES:",
        "    if False:",
        ["tests/tco/test_cli_validation.py::test_a_picture_is_named_by_its_format"],
    ),
    (
        "inputs: a layout list names a layout",
        "tco/api/inputs.py",
        '    if not names:\n        raise TcoError(f"--layout',
        '    if False:\n        raise TcoError(f"--layout',
        ["tests/tco/test_cli_validation.py::test_a_name_is_known_or_refused_with_suggestions"],
    ),
    (
        "inputs: a --set name once",
        "tco/api/inputs.py",
        "        if values.get(key, number) != number:",
        "        if False:",
        ["tests/tco/test_cli_validation.py::test_a_set_name_given_twice_with_two_values_is_refused"],
    ),
    (
        "inputs: a discount is a fraction in [0, 1)",
        "tco/api/inputs.py",
        "        if not sep or not 0.0 <= fraction < 1.0:",
        "        if not sep:",
        ["tests/tco/test_cli_validation.py::test_a_discount_is_a_commitment_model_and_a_fraction_once"],
    ),
    (
        "cli: compare frameworks reads its kernel",
        "tco/cli/compare.py",
        '"train_transformer", "--kernel", help="Calibration kernel (the workload).", callback=options.kernel',
        '"train_transformer", "--kernel", help="Calibration kernel (the workload).", callback=None',
        ["tests/tco/test_cli_validation.py::test_a_name_is_known_or_refused_with_suggestions"],
    ),
    (
        "cli: estimate reads its dtype",
        "tco/cli/estimate.py",
        "show_default=False, callback=options.compute_dtype,",
        "show_default=False,",
        ["tests/tco/test_cli_validation.py::test_a_name_is_known_or_refused_with_suggestions"],
    ),
    (
        "cli: pull bounds its timeout",
        "tco/cli/prices.py",
        "min=0.001, max=3600.0,",
        "min=0.001,",
        ["tests/tco/test_cli_validation.py::test_retries_timeouts_and_threads_have_sensible_bounds"],
    ),
    (
        "cli: a workbook needs an output file",
        "tco/cli/state.py",
        "    if chosen is Format.xlsx and path is None:",
        "    if False:",
        ["tests/tco/test_cli_validation.py::test_a_workbook_needs_an_output_file"],
    ),
    (
        "output: temp file + rename (no overwrite in place)",
        "tco/export/base.py",
        "    if info is not None and not stat.S_ISREG(info.st_mode):\n        # opened by its own name",
        "    if info is not None:\n        # opened by its own name",
        ["tests/tco/test_cli_outputs.py::test_an_output_replaces_the_file_whole_by_rename"],
    ),
    (
        "output: an existing file keeps its mode",
        "tco/export/base.py",
        "            if mode is not None:\n                os.fchmod(handle.fileno(), mode)",
        "            if False:\n                os.fchmod(handle.fileno(), mode)",
        ["tests/tco/test_cli_outputs.py::test_an_output_replaces_the_file_whole_by_rename"],
    ),
    (
        "output: staged until the command succeeded",
        "tco/export/base.py",
        "    staged = _STAGED.get()\n    if staged is None:",
        "    staged = _STAGED.get()\n    if True:",
        ["tests/tco/test_cli_outputs.py::test_a_command_that_fails_after_writing_its_output_leaves_the_file"],
    ),
    (
        "output: a pipe or device is written directly",
        "tco/export/base.py",
        "    if info is not None and not stat.S_ISREG(info.st_mode):\n        # opened by its own name",
        "    if False:\n        # opened by its own name",
        [
            "tests/tco/test_cli_outputs.py::test_a_pipe_is_written_directly_not_replaced",
            "tests/tco/test_cli_outputs.py::test_write_atomic_through_a_link_to_stdout",
        ],
    ),
    (
        "output: a link keeps pointing where it did",
        "tco/export/base.py",
        "    target = Path(os.path.realpath(path)) if path.is_symlink() else path",
        "    target = path",
        ["tests/tco/test_cli_outputs.py::test_a_link_keeps_pointing_where_it_did"],
    ),
    (
        "output: no temporary file left on a full disk",
        "tco/export/base.py",
        "    except OSError as exc:\n        prepared.discard()\n        raise _cannot(path, exc) from exc",
        "    except OSError as exc:\n        raise _cannot(path, exc) from exc",
        ["tests/tco/test_cli_outputs.py::test_a_full_disk_leaves_no_partial_file"],
    ),
    (
        "output: a failed or interrupted commit puts the renamed files back",
        "tco/export/base.py",
        "                    _put_back(undo)\n                    raise",
        "                    raise",
        [
            "tests/tco/test_cli_outputs.py::test_a_rename_that_fails_puts_the_files_renamed_before_it_back",
            "tests/tco/test_cli_outputs.py::test_ctrl_c_while_a_command_puts_its_files_in_place_puts_them_back",
            "tests/tco/test_plan_interrupt.py::test_a_failing_write_puts_the_written_files_back",
        ],
    ),
    (
        "output: Ctrl-C held while the files are put in place",
        "tco/export/base.py",
        "        if threading.current_thread() is threading.main_thread():\n            self.previous",
        "        if False:\n            self.previous",
        ["tests/tco/test_cli_outputs.py::test_ctrl_c_while_the_files_are_put_back_does_not_stop_it"],
    ),
    (
        "output: one file once per command",
        "tco/export/base.py",
        "        if any(os.path.realpath(p.path) == key for p, _ in self.writes):",
        "        if False:",
        ["tests/tco/test_cli_outputs.py::test_one_file_twice_through_the_staging_is_refused"],
    ),
    (
        "output: --plot format checked before work",
        "tco/api/inputs.py",
        "    if PurePath(path).suffix.lower() not in PLOT_SUFFIXES:",
        "    if False:",
        ["tests/tco/test_cli_outputs.py::test_a_plot_of_an_unknown_picture_format_is_a_usage_error"],
    ),
    (
        "output: stdout full is one line",
        "tco/cli/output.py",
        '    return TcoError(f"cannot write to standard output: {exc.strerror or exc}"',
        '    return ValueError(f"cannot write to standard output: {exc.strerror or exc}"',
        ["tests/tco/test_cli_outputs.py::test_stdout_full_is_one_line_and_exit_1"],
    ),
    (
        "output: stdout closed is one line",
        "tco/cli/output.py",
        "    if 1 in _CLOSED or sys.stdout is None:\n        raise _closed()",
        "    if False:\n        raise _closed()",
        ["tests/tco/test_cli_outputs.py::test_stdout_closed_is_one_line_and_exit_1[data]"],
    ),
    (
        "output: help and version text on a closed stdout is one line",
        "tco/cli/output.py",
        "    if 1 in _CLOSED and sys.stdout is None:\n        sys.stdout = _ClosedStdout()",
        "    if False:\n        sys.stdout = _ClosedStdout()",
        [
            "tests/tco/test_cli_outputs.py::test_stdout_closed_is_one_line_and_exit_1[help]",
            "tests/tco/test_cli_outputs.py::test_stdout_closed_is_one_line_and_exit_1[version]",
        ],
    ),
    (
        "output: a reader that leaves ends quietly (141)",
        "tco/cli/app.py",
        "            raise _StdoutGone() from exc",
        "            raise",
        ["tests/tco/test_cli_outputs.py::test_a_reader_that_leaves_ends_the_command_quietly"],
    ),
    (
        "text: tables with markup off",
        "tco/cli/render.py",
        "    return Text(printable(str(value)))",
        "    from rich.markup import render\n\n    return render(printable(str(value)))",
        ["tests/tco/test_cli_outputs.py::test_markup_in_stored_text_is_shown_as_written"],
    ),
    (
        "text: control characters visible in tables",
        "tco/cli/render.py",
        "    return Text(printable(str(value)))",
        "    return Text(str(value))",
        ["tests/tco/test_cli_outputs.py::test_control_characters_never_reach_the_terminal_raw"],
    ),
    (
        "text: control characters visible in notes",
        "tco/cli/render.py",
        '        sys.stderr.write(printable(line) + "\\n")',
        '        sys.stderr.write(line + "\\n")',
        ["tests/tco/test_cli_outputs.py::test_notes_show_control_characters_as_symbols"],
    ),
    (
        "text: CSV headers neutralised",
        "tco/export/base.py",
        "    out.columns = neutral_names(out.columns)",
        "    out.columns = [str(c) for c in out.columns]",
        ["tests/tco/test_cli_outputs.py::test_formulas_are_neutralised_in_cells_headers_and_keys"],
    ),
    (
        "text: JSON keys neutralised",
        "tco/export/json.py",
        "    columns = neutral_names(frame.columns)",
        "    columns = [str(c) for c in frame.columns]",
        ["tests/tco/test_cli_outputs.py::test_formulas_are_neutralised_in_cells_headers_and_keys"],
    ),
    (
        "text: a carriage return is a line break",
        "tco/export/base.py",
        '    return SHOWN_AS_SYMBOL.sub(_visible, _LINE_BREAK.sub("\\n", value))',
        "    return SHOWN_AS_SYMBOL.sub(_visible, value)",
        ["tests/tco/test_cli_outputs.py::test_a_carriage_return_in_stored_text_never_splits_a_csv_row"],
    ),
    (
        "text: cells with a control character neutralised",
        "tco/export/base.py",
        "risky = text.str.contains(SHOWN_AS_SYMBOL, na=False) | ",
        "risky = ",
        ["tests/tco/test_cli_outputs.py::test_a_carriage_return_in_stored_text_never_splits_a_csv_row"],
    ),
    (
        "output: --format xlsx without --output is a usage error",
        "tco/cli/state.py",
        "    if chosen is Format.xlsx and path is None:\n        raise typer.BadParameter(",
        "    if False:\n        raise typer.BadParameter(",
        ["tests/tco/test_estimate_xlsx.py::test_xlsx_without_output_fails_with_one_line"],
    ),
    (
        "output: stdout given up after it failed (no exit 120)",
        "tco/cli/output.py",
        "    silence_stdout()  # what is still buffered would fail again at exit\n",
        "",
        ["tests/tco/test_cli_outputs.py::test_stdout_full_is_one_line_and_exit_1"],
    ),
    (
        "output: a full stdout under click's own writes is one line",
        "tco/cli/app.py",
        "            if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS and not debug:",
        "            if False:",
        ["tests/tco/test_cli_outputs.py::test_help_on_a_full_stdout_is_one_line_and_exit_1"],
    ),
    (
        "plot: a budget plan stacks its costs only",
        "tco/plot.py",
        '    items = [c for c in budget.columns if c not in ("month", "total_usd", *PLAN_BUDGET_COLUMNS)]',
        '    items = [c for c in budget.columns if c not in ("month", "total_usd")]',
        ["tests/tco/test_plot.py::test_a_plan_plot_with_a_budget_stacks_the_costs_only"],
    ),
    (
        "aws ingest: a product at a time",
        "pricing/providers/aws.py",
        "            iter_digests(price_list, skipped),\n",
        "            map(digest, decode_products(price_list, skipped)),\n",
        ["tests/pricing/test_ingest_fast_path.py::test_a_page_is_decoded_a_product_at_a_time"],
    ),
    (
        "gcp: a skip pattern searched wherever it can match (its words)",
        "pricing/providers/gcp.py",
        '        or "flex" in folded\n',
        "",
        [
            "tests/pricing/providers/test_gcp.py::test_a_description_is_skipped_exactly_where_the_skip_patterns_match"
        ],
    ),
    (
        "gcp: a skip pattern searched wherever it can match (non-ASCII text)",
        "pricing/providers/gcp.py",
        "folded = description.lower() if description.isascii() else None",
        "folded = description.lower()",
        [
            "tests/pricing/providers/test_gcp.py::test_a_description_is_skipped_exactly_where_the_skip_patterns_match"
        ],
    ),
]


def main() -> int:
    only = sys.argv[1:]
    missed = 0
    for name, path, old, new, tests in MUTATIONS:
        if only and not any(o in name for o in only):
            continue
        target = ROOT / path
        original = target.read_text()
        if original.count(old) != 1:
            print(f"SNIPPET GONE | {name} | update its entry ({path})")
            missed += 1
            continue
        target.write_text(original.replace(old, new))
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                check=False,
            )  # fmt: skip
        finally:
            target.write_text(original)
        caught = proc.returncode != 0
        missed += not caught
        print(f"{'fails as it should' if caught else 'STILL PASSES'} | {name}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
