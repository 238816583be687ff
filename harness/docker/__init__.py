"""The Docker test bed: a private engine (engine.py), stand-in base images (standins.py), the project's image and
its containers (project.py), compose projects (compose.py)."""
