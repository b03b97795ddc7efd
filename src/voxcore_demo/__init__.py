"""`vox demo`: the whole platform on one machine, dialling a simulated carrier, with a live
view beside the simulator's prediction. Not a role: it starts the roles as their docs say."""
