"""``python -m faults``: run the fault suite and print its table (see faults/suite.py)."""

from faults.suite import main

if __name__ == "__main__":
    main()
