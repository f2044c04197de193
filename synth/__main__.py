from tdscaling.synth.cli import main

main()
