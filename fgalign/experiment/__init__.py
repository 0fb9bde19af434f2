"""An experiment: the plan of stage specs per task, calibration, the run loop, outputs."""
