"""A simulated house around the real regulation core, on a fake clock.

What and why: the regulation is only as good as its behaviour in a closed loop — a meter
that reports late and averaged, loads that react after a command, a tank whose
thermostat cuts, clouds, a kettle. This package models that house honestly enough to
measure the regulation against the KPIs of ``research/peers.md`` §13–14:

- :mod:`pvopt.sim.pv`: clear-sky PV production and a seeded cloud process;
- :mod:`pvopt.sim.load`: the household base load and its appliances;
- :mod:`pvopt.sim.equipment`: what the regulated loads really draw (tank, thermostat);
- :mod:`pvopt.sim.meter`: a Linky in standard mode (cadence, averaging, delay);
- :mod:`pvopt.sim.house`: the closed loop around a :class:`pvopt.regulation.policy.Policy`;
- :mod:`pvopt.sim.kpi`: KPIs over a run;
- :mod:`pvopt.sim.scenarios`: reference days, the reference site, scenario resolution;
  :mod:`pvopt.sim.scenario_file` and :mod:`pvopt.sim.replay`: scenario YAML files and
  recorded days;
- :mod:`pvopt.sim.baseline`: the original algorithm and "no router" as decision cores;
- :mod:`pvopt.sim.simulate`, :mod:`pvopt.sim.report`, :mod:`pvopt.sim.plot`:
  ``pvopt simulate``.

Rules: standard library and PyYAML only; pvlib (the clear-sky model), numpy (grading a
run: the KPIs, the yardstick, the report) and matplotlib (``--plot``) come with the
optional ``sim`` extra and are imported only when used, so the house and its models
run on a bare install; no network or process I/O; time is always passed
in (POSIX seconds, UTC); every random process takes a seeded :class:`random.Random`, so
the same seed gives the same run. The core never imports this package.
"""
