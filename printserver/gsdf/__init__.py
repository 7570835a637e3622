"""PS3.14 Grayscale Standard Display Function and the calibration maths built on it."""
