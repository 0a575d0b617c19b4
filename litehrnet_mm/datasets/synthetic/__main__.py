from .tasks import main

main()
