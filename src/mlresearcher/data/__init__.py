"""Reading data, column roles, the task and the evaluation protocol."""
