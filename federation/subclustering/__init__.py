"""Sub-clustering rule sets compared: :mod:`.rule_sets` finds and reads them (installed or not), :mod:`.compare`
applies two to one meta-cluster and sets them side by side."""
