from searchkit.cli import main

# Guarded: a worker process started with "spawn" or "forkserver" imports the
# main module again, and must not run the command a second time.
if __name__ == "__main__":
    main()
