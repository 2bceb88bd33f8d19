"""A simulated house around the real regulation core, on a fake clock.

What and why: the regulation is only as good as its behaviour in a closed loop — a meter
that reports late and averaged, loads that react after a command, a tank whose
thermostat cuts, clouds, a kettle. This package models that house honestly enough to
measure the regulation against the KPIs of ``research/peers.md`` §13–14:

- :mod:`pvopt.sim.pv`: clear-sky PV production and a seeded cloud process;
- :mod:`pvopt.sim.load`: the household base load and its appliances;
- :mod:`pvopt.sim.equipment`: what the regulated loads really draw (tank, thermostat);
- :mod:`pvopt.sim.meter`: a Linky in standard mode (cadence, averaging, delay);
- :mod:`pvopt.sim.house`: the closed loop with :class:`pvopt.regulation.core.Regulator`;
- :mod:`pvopt.sim.kpi`: KPIs over a run;
- :mod:`pvopt.sim.scenarios`: reference days and the reference site.

Rules: standard library only (no numpy, no pvlib, no I/O library); time is always passed
in (POSIX seconds, UTC); every random process takes a seeded :class:`random.Random`, so
the same seed gives the same run. The core never imports this package.
"""
