"""Module quizzes: taking them, grading and feedback."""
