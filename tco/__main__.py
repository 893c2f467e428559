from tco.cli import main

main()
