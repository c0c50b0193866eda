from stamp_service.cli import main

main()
